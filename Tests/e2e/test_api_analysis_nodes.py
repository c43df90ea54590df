"""The LatentTools analysis nodes and ComfyUI's image nodes through a real `weightlens serve`:
queued over POST /prompt, pictures fetched through /view and decoded, reports checked against
numpy on the same weights (read from the demo checkpoint with a few lines of safetensors parsing)."""
import json
import os
import struct

import numpy as np
import pytest

from api_support import Server
from png_support import decode

CONV = "input_blocks.1.0.in_layers.2"
LINEAR = "middle_block.1.proj_in"


@pytest.fixture(scope="module")
def server(weightlens_bin, tmp_path_factory):
    s = Server(weightlens_bin, tmp_path_factory.mktemp("analysis"))
    yield s
    s.stop()


def read_tensor(path, name):
    """One tensor of a safetensors file as float64 (layers are found as `<prefix><name>.weight`)."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        key = next(k for k in header if k != "__metadata__" and (k == name or k.endswith("." + name + ".weight")))
        meta = header[key]
        start, end = meta["data_offsets"]
        f.seek(8 + size + start)
        raw = f.read(end - start)
    dtype = {"F16": np.float16, "F32": np.float32, "BF16": None}[meta["dtype"]]
    return np.frombuffer(raw, dtype=dtype).astype(np.float64).reshape(meta["shape"])


def checkpoint_path(server):
    name = server.checkpoint()
    return os.path.join(server.base_dir, "models", "checkpoints", name), name


def run(server, nodes, extra_data=None):
    path, name = checkpoint_path(server)
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": name}}, **nodes}
    body = {"prompt": prompt, "client_id": "analysis-test"}
    if extra_data:
        body["extra_data"] = extra_data
    r = server.post("/prompt", body)
    assert r.status_code == 200, r.text
    entry = server.wait_history(r.json()["prompt_id"])
    assert entry["status"]["status_str"] == "success", json.dumps(entry["status"]["messages"])[-2000:]
    return entry, path


def picture(server, ref):
    r = server.get(f"/view?filename={ref['filename']}&subfolder={ref['subfolder']}&type={ref['type']}")
    assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"
    return r.content


def text_chunks(png):
    """tEXt chunks of a PNG as {keyword: text}."""
    pos, out = 8, {}
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind, body = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            out[key.decode("latin-1")] = value.decode("latin-1")
        pos += 12 + length
    return out


def test_weight_nmf_report_agrees_with_numpy_and_saves_through_save_image(server):
    workflow = {"nodes": [{"id": 2, "type": "LTWeightNMF"}, {"id": 3, "type": "SaveImage"}], "links": []}
    entry, path = run(server, {
        "2": {"class_type": "LTWeightNMF", "inputs": {"model": ["1", 0], "layer_name": CONV, "num_filters": 16, "rank": 3}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "weightlens/nmf"}},
    }, extra_data={"extra_pnginfo": {"workflow": workflow}})
    report = json.loads(entry["outputs"]["2"]["text"][0])
    assert list(report) == ["layer", "shape", "rank", "relative_error", "factors", "output_channels"]
    w = read_tensor(path, CONV)
    assert report["shape"] == list(w.shape) and report["rank"] == 3
    channels = report["output_channels"]
    assert channels == list(range(min(16, w.shape[0])))
    # X[(o, y, x), i] = W[o, i, y, x]; with the reported factors F ≥ 0, the best signed loadings
    # (least squares) give an error no larger than the reported one, and no rank-3 fit beats the SVD.
    x = w[channels].transpose(0, 2, 3, 1).reshape(-1, w.shape[1])
    f = np.array(report["factors"])
    assert f.shape == (3, w.shape[1]) and (f >= 0).all()
    loadings, *_ = np.linalg.lstsq(f.T, x.T, rcond=None)
    best = np.linalg.norm(x - loadings.T @ f) / np.linalg.norm(x)
    s = np.linalg.svd(x, compute_uv=False)
    svd_bound = np.sqrt((s[3:] ** 2).sum() / (s ** 2).sum())
    assert svd_bound - 1e-6 <= best <= report["relative_error"] + 1e-4
    assert report["relative_error"] <= best * 1.02 + 1e-4

    preview = entry["outputs"]["2"]["images"]
    assert len(preview) == 1 and preview[0]["type"] == "temp"
    saved = entry["outputs"]["3"]["images"]
    assert saved == [{"filename": "nmf_00001_.png", "subfolder": "weightlens", "type": "output"}]
    assert os.path.exists(os.path.join(server.base_dir, "output", "weightlens", "nmf_00001_.png"))
    png = picture(server, saved[0])
    assert decode(png) == decode(picture(server, preview[0]))
    chunks = text_chunks(png)
    assert json.loads(chunks["workflow"]) == workflow
    assert json.loads(chunks["prompt"])["2"]["class_type"] == "LTWeightNMF"

    # The counter continues; PreviewImage writes to temp.
    entry, _ = run(server, {
        "2": {"class_type": "LTWeightNMF", "inputs": {"model": ["1", 0], "layer_name": LINEAR, "num_filters": 4, "rank": 2}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "weightlens/nmf"}},
        "4": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}},
    })
    assert entry["outputs"]["3"]["images"][0]["filename"] == "nmf_00002_.png"
    temp = entry["outputs"]["4"]["images"]
    assert temp[0]["type"] == "temp" and temp[0]["filename"].startswith("ComfyUI_temp_")
    assert decode(picture(server, temp[0])) == decode(picture(server, entry["outputs"]["3"]["images"][0]))


def test_weight_stats_agree_with_numpy(server):
    entry, path = run(server, {"2": {"class_type": "LTWeightStats", "inputs": {"model": ["1", 0], "filter": "IN01", "bins": 64}}})
    report = json.loads(entry["outputs"]["2"]["text"][0])
    assert len(report) >= 5
    for layer in report:
        w = read_tensor(path, layer["name"])
        assert layer["shape"] == list(w.shape) and layer["parameters"] == w.size and layer["dtype"] == "float16"
        assert abs(layer["mean"] - w.mean()) <= 1e-6 * max(1.0, abs(w.mean()))
        assert abs(layer["std"] - w.std()) <= 1e-5 * max(w.std(), 1e-12)
        assert np.float32(layer["min"]) == np.float32(w.min()) and np.float32(layer["max"]) == np.float32(w.max())
        assert abs(layer["l2_norm"] - np.sqrt((w ** 2).sum())) <= 1e-5 * np.sqrt((w ** 2).sum())
        assert abs(layer["near_zero_fraction"] - (np.abs(w) < 1e-3).mean()) < 1e-12
        channel_max = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
        assert layer["dead_filters"] == [int(i) for i in np.nonzero(channel_max < 1e-3 * channel_max.max())[0]]
    pictures = [decode(picture(server, ref)) for ref in entry["outputs"]["2"]["images"]]
    assert len(pictures) == 2 and all(w >= 480 and h > 100 for w, h, _ in pictures)


def test_model_overview_alpha_agrees_with_the_powerlaw_package(server):
    import powerlaw  # installed by the test command (scripts/lib/deps.sh)

    entry, path = run(server, {"2": {"class_type": "LTModelOverview",
                                     "inputs": {"model": ["1", 0], "filter": "input_blocks.4.1.transformer_blocks.0", "metric": "alpha"}}})
    report = json.loads(entry["outputs"]["2"]["text"][0])
    assert len(report) >= 8
    for layer in report:
        w = read_tensor(path, layer["name"])
        m = w.reshape(w.shape[0], -1)
        n = max(m.shape)
        small = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
        evals = np.linalg.eigvalsh(small) / n
        evals = evals[evals > 0]
        fit = powerlaw.Fit(evals, xmax=float(np.max(evals)), verbose=False)
        assert abs(layer["alpha"] - fit.alpha) <= 0.05, (layer["name"], layer["alpha"], fit.alpha)
        assert abs(layer["alpha_weighted"] - layer["alpha"] * np.log10(evals.max())) <= 1e-3 * abs(layer["alpha_weighted"]) + 1e-6
        s = np.linalg.svd(m, compute_uv=False)
        assert abs(layer["spectral_norm"] - s[0]) <= 1e-4 * s[0]
        assert abs(layer["stable_rank"] - (s ** 2).sum() / s[0] ** 2) <= 1e-3 * layer["stable_rank"]
        assert abs(layer["l2_norm"] - np.sqrt((m ** 2).sum())) <= 1e-5 * layer["l2_norm"]
        assert abs(layer["std"] - m.std()) <= 1e-5 * m.std()
        assert layer["block"] == "IN04" and layer["shape"] == list(w.shape)
    png = picture(server, entry["outputs"]["2"]["images"][0])
    width, height, _ = decode(png)
    assert width >= 720 and height > 500


def test_expanded_weights_and_top_inputs_agree_with_numpy(server):
    module = "input_blocks.4.1.transformer_blocks.0.attn1"
    entry, path = run(server, {
        "2": {"class_type": "LTExpandedWeights", "inputs": {"model": ["1", 0], "layer_name": module, "mode": "attention_qk", "head": 0}},
        "3": {"class_type": "LTTopInputs", "inputs": {"model": ["1", 0], "layer_name": CONV, "output_channel": 2, "top_k": 4}},
    })
    qk = json.loads(entry["outputs"]["2"]["text"][0])
    wq, wk = read_tensor(path, module + ".to_q"), read_tensor(path, module + ".to_k")
    dh = qk["head_dim"]
    assert qk["heads"] * dh == wq.shape[0] and len(qk["singular_values"]) == 1
    s = np.linalg.svd(wq[:dh].T @ wk[:dh], compute_uv=False)
    ours = np.array(qk["singular_values"][0])
    assert np.allclose(ours, s[:len(ours)], rtol=1e-3, atol=1e-4 * s[0])
    top = json.loads(entry["outputs"]["3"]["text"][0])
    w = read_tensor(path, CONV)
    norms = np.sqrt((w[2] ** 2).sum(axis=(1, 2)))
    order = sorted(range(len(norms)), key=lambda i: (-norms[i], i))[:4]
    assert [i["input_channel"] for i in top["inputs"]] == order
    assert np.allclose([i["l2_norm"] for i in top["inputs"]], norms[order], rtol=1e-5)
    for ref in entry["outputs"]["2"]["images"] + entry["outputs"]["3"]["images"]:
        width, height, _ = decode(picture(server, ref))
        assert width >= 640 and height > 100
