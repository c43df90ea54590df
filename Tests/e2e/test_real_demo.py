"""The real-weights demo: `weightlens serve` puts a small trained MobileNetV2 (features.0-6, shipped
in the NodeServer resources with its licence) beside the synthetic SDXL file; its demo workflow
runs; the synthetic file's pictures say "synthetic", the real one's do not; and the tensor-slice
endpoint the viewer's hover read-out uses returns exactly the stored values, as JSON and as .npy."""
import io
import json
import pathlib
import struct

import numpy as np
import pytest

from api_support import Server

ROOT = pathlib.Path(__file__).resolve().parents[2]
REAL = "weightlens_real_mobilenetv2.safetensors"
SYNTHETIC = "weightlens_demo_sdxl_synthetic.safetensors"


@pytest.fixture(scope="module")
def server(weightlens_bin, tmp_path_factory):
    s = Server(weightlens_bin, tmp_path_factory.mktemp("real-demo"))
    yield s
    s.stop()


def stored(path, key):
    """A tensor read straight from a safetensors file with numpy."""
    data = pathlib.Path(path).read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    spec = json.loads(data[8:8 + n])[key]
    begin, end = spec["data_offsets"]
    dtype = {"F32": np.float32, "F16": np.float16}[spec["dtype"]]
    return np.frombuffer(data[8 + n + begin:8 + n + end], dtype=dtype).astype(np.float32).reshape(spec["shape"])


def run(server, prompt):
    r = server.post("/prompt", {"prompt": prompt})
    assert r.status_code == 200, r.text
    entry = server.wait_history(r.json()["prompt_id"])
    assert entry["status"]["status_str"] == "success", entry["status"]
    return entry["outputs"]


def test_both_demo_checkpoints_are_served_and_the_real_one_is_the_shipped_file(server):
    assert server.get("/models/checkpoints").json() == [SYNTHETIC, REAL]
    served = pathlib.Path(server.base_dir, "models", "checkpoints", REAL).read_bytes()
    shipped = (ROOT / "Sources" / "NodeServer" / "Resources" / "demo" / REAL).read_bytes()
    assert served == shipped and len(shipped) < 300_000
    header = json.loads(shipped[8:8 + struct.unpack("<Q", shipped[:8])[0]])
    assert header["__metadata__"]["weightlens_demo"] == "real"
    assert header["features.0.0.weight"]["shape"] == [32, 3, 3, 3]


def test_real_demo_workflow_lists_layers_and_shows_learned_filters(server):
    prompt = json.loads((ROOT / "workflows" / "workflow_weight_visualization_real_demo_api.json").read_text())
    outputs = run(server, prompt)
    names = "\n".join(outputs["4"]["text"]).split("\n")
    assert names[0] == "features.0.0" and len(names) == 36 and "features.6.conv.6" in names
    viz = outputs["2"]
    assert viz["images"] and viz["pages"], viz
    text = "\n".join(viz["text"])
    assert "features.0.0" in text and "ynthetic" not in text, text
    # The stem conv sees RGB: 32 filters of 3x3, all on the node's pages.
    page = server.get("/view", params={**viz["pages"][0], "type": viz["pages"][0]["type"]})
    assert page.status_code == 200 and page.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_synthetic_demo_says_synthetic_and_the_real_one_does_not(server):
    def summary(ckpt, layer):
        outputs = run(server, {
            "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
            "2": {"class_type": "LTVisualizeWeights", "inputs": {"model": ["1", 0], "layer_name": layer,
                                                                  "num_filters": 8, "visualization_mode": "weights"}},
        })
        return "\n".join(outputs["2"]["text"])
    assert "Synthetic checkpoint" in summary(SYNTHETIC, "input_blocks.1.0.in_layers.2")
    assert "ynthetic" not in summary(REAL, "features.1.conv.3")


def test_tensor_slice_endpoint_returns_the_stored_values(server):
    path = pathlib.Path(server.base_dir, "models", "checkpoints", REAL)
    weight = stored(path, "features.0.0.weight")
    for prefix in ["", "/api"]:
        r = server.get(prefix + "/weightlens/tensor", params={"ckpt": REAL, "layer": "features.0.0", "index": "5,1"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["shape"] == [32, 3, 3, 3] and body["index"] == [5, 1] and body["slice_shape"] == [3, 3]
        assert body["values"] == [float(v) for v in weight[5, 1].ravel()]
    # A row of a pointwise conv, and the whole weight as .npy for download.
    pw = stored(path, "features.1.conv.3.weight")
    row = server.get("/weightlens/tensor", params={"ckpt": REAL, "layer": "features.1.conv.3", "index": "7"}).json()
    assert row["slice_shape"] == [32, 1, 1] and row["values"] == [float(v) for v in pw[7].ravel()]
    npy = server.get("/weightlens/tensor", params={"ckpt": REAL, "layer": "features.0.0", "format": "npy"})
    assert npy.status_code == 200 and "attachment" in npy.headers["Content-Disposition"]
    assert np.array_equal(np.load(io.BytesIO(npy.content)), weight)
    one = server.get("/weightlens/tensor", params={"ckpt": REAL, "layer": "features.0.0", "index": "31,2,1",
                                                   "format": "npy"})
    assert np.array_equal(np.load(io.BytesIO(one.content)), weight[31, 2, 1])
    # The synthetic SDXL file (f16): values widened exactly.
    syn = stored(pathlib.Path(server.base_dir, "models", "checkpoints", SYNTHETIC),
                 "model.diffusion_model.input_blocks.1.0.in_layers.2.weight")
    got = server.get("/weightlens/tensor", params={"ckpt": SYNTHETIC, "layer": "input_blocks.1.0.in_layers.2",
                                                   "index": "3,4"}).json()
    assert got["values"] == [float(v) for v in syn[3, 4].ravel()]


@pytest.mark.parametrize("params, status", [
    ({"layer": "features.0.0"}, 400),
    ({"ckpt": REAL, "layer": "features.0.0", "index": "32"}, 400),
    ({"ckpt": REAL, "layer": "features.0.0", "index": "1,-1"}, 400),
    ({"ckpt": REAL, "layer": "features.0.0", "index": "0,0,0,0,0"}, 400),
    ({"ckpt": REAL, "layer": "features.0.0", "format": "csv"}, 400),
    ({"ckpt": REAL, "layer": "no.such.layer"}, 404),
    ({"ckpt": "../../../etc/passwd", "layer": "features.0.0"}, 404),  # names stay inside the folder
    ({"ckpt": "missing.safetensors", "layer": "features.0.0"}, 404),
])
def test_tensor_slice_endpoint_refuses_bad_requests(server, params, status):
    r = server.get("/weightlens/tensor", params=params)
    assert r.status_code == status, (params, r.status_code, r.text)
    assert "error" in r.json()
