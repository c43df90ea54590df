"""UnetLoaderGGUF over the API on a Flux-layout GGUF written by gguf-py (llama.cpp's `gguf` package):
the file lists with its Flux blocks like its safetensors twin, and LTVisualizeWeights renders a
quantized layer."""
import subprocess

import gguf
import numpy as np
import pytest

from api_support import Server, collect_until_done, new_client_id, run_prompt as run
from gguf_support import read_safetensors_f32, write_gguf

Q = gguf.GGMLQuantizationType


@pytest.fixture(scope="module")
def server(weightlens_bin, tmp_path_factory):
    base = tmp_path_factory.mktemp("gguf_models")
    dm = base / "models" / "diffusion_models"
    dm.mkdir(parents=True)
    # Scale 32: every Linear of the Flux layout has rows of whole 32-element blocks.
    twin = dm / "flux_dev_s32.safetensors"
    subprocess.run([weightlens_bin, "make-checkpoint", "--layout", "flux", "--scale", "32", "--parts",
                    "diffusion-model", "--dtype", "f32", "--out", str(twin)], check=True, capture_output=True)
    tensors = read_safetensors_f32(twin)
    types = write_gguf(tensors, dm / "flux_dev_s32.gguf",
                       quant=lambda key: Q.Q4_0 if ".img_mlp." in key else Q.Q8_0)
    assert types["double_blocks.0.img_mlp.0.weight"] == "Q4_0" and types["img_in.weight"] == "Q8_0"
    s = Server(weightlens_bin, base)
    s.tensors = tensors
    s.gguf_path = dm / "flux_dev_s32.gguf"
    yield s
    s.stop()


def list_layers(server, loader, flt):
    prompt = {
        "1": loader,
        "2": {"class_type": "LTListLayers", "inputs": {"model": ["1", 0], "filter": flt}},
        "3": {"class_type": "ShowText|pysssss", "inputs": {"text": ["2", 0]}},
    }
    h = run(server, prompt)
    assert h["status"]["status_str"] == "success", h["status"]
    return h["outputs"]["3"]["text"][0].split("\n")


GGUF_LOADER = {"class_type": "UnetLoaderGGUF", "inputs": {"unet_name": "flux_dev_s32.gguf"}}
UNET_LOADER = {"class_type": "UNETLoader", "inputs": {"unet_name": "flux_dev_s32.safetensors", "weight_dtype": "default"}}


def test_gguf_is_listed_for_unetloadergguf(server):
    info = server.get("/object_info/UnetLoaderGGUF").json()["UnetLoaderGGUF"]
    assert info["input"]["required"]["unet_name"][0] == ["flux_dev_s32.gguf"]


@pytest.mark.parametrize("flt", ["", "D18-S00", "img_attn.qkv", "S37"])
def test_gguf_lists_like_its_safetensors_twin(server, flt):
    names = list_layers(server, GGUF_LOADER, flt)
    assert names == list_layers(server, UNET_LOADER, flt)
    assert names[0] != ""
    if flt == "D18-S00":
        assert names[0] == "double_blocks.18.img_mod.lin" and len(names) == 13


def test_gguf_q4_0_layer_renders_with_gguf_py_values(server):
    prompt = {
        "1": GGUF_LOADER,
        "2": {"class_type": "LTVisualizeWeights", "inputs": {"model": ["1", 0], "layer_name": "double_blocks.0.img_mlp.0",
                                                              "num_filters": 16, "visualization_mode": "both"}},
    }
    h = run(server, prompt)
    assert h["status"]["status_str"] == "success", h["status"]
    out = h["outputs"]["2"]
    # One compact preview on the node, the two full pages (weights, expanded) in `pages`.
    assert len(out["images"]) == 1 and len(out["pages"]) == 2
    for image in out["images"] + out["pages"]:
        png = server.get("/view", params={"filename": image["filename"], "type": image["type"],
                                          "subfolder": image["subfolder"]})
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    summary = "".join(out.get("text", []))
    assert "Q4_0" in summary, out.keys()


def test_cli_inspect_matches_gguf_py_dequantization(server, weightlens_bin):
    import json
    r = subprocess.run([weightlens_bin, "inspect", str(server.gguf_path), "--layer", "double_blocks.0.img_mlp.0",
                        "--top-k", "1", "--json"], check=True, capture_output=True, text=True)
    report = json.loads(r.stdout)
    assert report["dtype"] == "Q4_0" and report["shape"] == [384, 96]
    reader = gguf.GGUFReader(str(server.gguf_path))
    t = next(t for t in reader.tensors if t.name == "double_blocks.0.img_mlp.0.weight")
    values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float64)
    assert report["stats"]["max"] == pytest.approx(values.max(), rel=1e-6)
    assert report["stats"]["min"] == pytest.approx(values.min(), rel=1e-6)
    assert report["stats"]["mean"] == pytest.approx(values.mean(), rel=1e-4, abs=1e-7)
