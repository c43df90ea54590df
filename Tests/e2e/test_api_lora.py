"""LoRAs through the API: CheckpointLoaderSimple -> LoraLoader -> LTLoraInspect / LTWeightStats /
LTVisualizeWeights on the patched model, with the tiny U-Net and the LyCORIS LoRA written by the
real tools (Tests/Fixtures/tools)."""
import json
import pathlib
import shutil

import numpy as np
import pytest

from api_support import Server, collect_until_done, new_client_id, run_prompt as run

TOOLS = pathlib.Path(__file__).resolve().parents[1] / "Fixtures" / "tools"


def read(path, key):
    """One float32 tensor of a safetensors file, read with the format's own layout (header + data)."""
    raw = pathlib.Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    e = header[key]
    a, b = e["data_offsets"]
    assert e["dtype"] == "F32"
    return np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(e["shape"])


@pytest.fixture(scope="module")
def server(weightlens_bin, tmp_path_factory):
    base = tmp_path_factory.mktemp("lora")
    (base / "models" / "checkpoints").mkdir(parents=True)
    extra = base / "elsewhere" / "my_loras"
    extra.mkdir(parents=True)
    shutil.copy(TOOLS / "diffusers_unet" / "unet" / "diffusion_pytorch_model.safetensors", base / "models" / "checkpoints" / "tiny_unet.safetensors")
    shutil.copy(TOOLS / "lora" / "lycoris_lora.safetensors", extra / "lycoris_lora.safetensors")
    config = base / "extra_model_paths.yaml"
    config.write_text(f"mine:\n  base_path: {base / 'elsewhere'}\n  loras: my_loras\n")
    s = Server(weightlens_bin, base, ["--extra-model-paths-config", str(config)])
    yield s
    s.stop()


def test_object_info_has_comfyuis_lora_loaders(server):
    info = server.get("/object_info/LoraLoader").json()["LoraLoader"]
    assert info["input"]["required"]["lora_name"][0] == ["lycoris_lora.safetensors"]
    assert info["input"]["required"]["strength_model"][1]["default"] == 1.0
    assert info["input"]["required"]["strength_clip"][1]["min"] == -100.0
    assert info["output"] == ["MODEL", "CLIP"] and info["display_name"] == "Load LoRA"
    only = server.get("/object_info/LoraLoaderModelOnly").json()["LoraLoaderModelOnly"]
    assert only["input_order"]["required"] == ["model", "lora_name", "strength_model"] and only["output"] == ["MODEL"]


def test_checkpoint_lora_inspect_and_patched_weights(server):
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny_unet.safetensors"}},
        "2": {"class_type": "LoraLoader", "inputs": {"model": ["1", 0], "clip": ["1", 1], "lora_name": "lycoris_lora.safetensors",
                                                     "strength_model": 0.5, "strength_clip": 1.0}},
        "3": {"class_type": "LTLoraInspect", "inputs": {"lora_name": "lycoris_lora.safetensors", "model": ["1", 0]}},
        "4": {"class_type": "LTWeightStats", "inputs": {"model": ["2", 0], "filter": "conv_in", "bins": 16}},
        "5": {"class_type": "LTVisualizeWeights", "inputs": {"model": ["2", 0], "layer_name": "conv_in", "num_filters": 4,
                                                             "visualization_mode": "weights"}},
    }
    h = run(server, prompt)
    assert h["status"]["status_str"] == "success", h["status"]
    report = json.loads(h["outputs"]["3"]["text"][0])
    assert list(report) == ["format", "family", "metadata", "layers", "unmatched_keys"]
    assert report["format"] == "kohya LoCon" and report["unmatched_keys"] == []
    conv_in = next(l for l in report["layers"] if l["name"] == "conv_in")
    delta = read(TOOLS / "lora" / "lycoris_lora.expected.safetensors", "conv_in")
    assert abs(conv_in["delta_l2"] - np.linalg.norm(delta)) <= 1e-4 * np.linalg.norm(delta)
    s = np.linalg.svd(delta.reshape(delta.shape[0], -1), compute_uv=False)
    assert np.allclose(conv_in["singular_values"][:2], s[:2], rtol=1e-3)
    w = read(TOOLS / "diffusers_unet" / "unet" / "diffusion_pytorch_model.safetensors", "conv_in.weight")
    stats = json.loads(h["outputs"]["4"]["text"][0])
    assert stats[0]["name"] == "conv_in"
    assert abs(stats[0]["l2_norm"] - np.linalg.norm(w + 0.5 * delta)) <= 1e-4 * np.linalg.norm(w)
    assert h["outputs"]["5"]["images"]


def test_lora_for_another_model_is_an_execution_error(server):
    loras = pathlib.Path(server.base_dir) / "models" / "loras"
    loras.mkdir(parents=True, exist_ok=True)
    shutil.copy(TOOLS / "lora" / "peft_flux.safetensors", loras / "flux_lora.safetensors")
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny_unet.safetensors"}},
        "2": {"class_type": "LoraLoaderModelOnly", "inputs": {"model": ["1", 0], "lora_name": "flux_lora.safetensors", "strength_model": 1.0}},
        "3": {"class_type": "LTListLayers", "inputs": {"model": ["2", 0], "filter": ""}},
        "4": {"class_type": "ShowText|pysssss", "inputs": {"text": ["3", 0]}},
    }
    h = run(server, prompt)
    assert h["status"]["status_str"] == "error"
    err = [m for m in h["status"]["messages"] if m[0] == "execution_error"][0][1]
    assert err["exception_type"] == "LoraError" and "Flux" in err["exception_message"]


def write_safetensors(path, arrays):
    """float32 arrays in the safetensors layout: 8-byte header length, JSON header, data."""
    header, blobs, offset = {}, [], 0
    for key, a in arrays.items():
        b = np.ascontiguousarray(a, dtype=np.float32).tobytes()
        header[key] = {"dtype": "F32", "shape": list(np.shape(a)), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    pathlib.Path(path).write_bytes(len(raw).to_bytes(8, "little") + raw + b"".join(blobs))


def test_lora_keys_that_load_nowhere_are_logged_as_comfyui_does(server):
    loras = pathlib.Path(server.base_dir) / "models" / "loras"
    loras.mkdir(parents=True, exist_ok=True)
    good = "lora_unet_conv_in"
    arrays = {good + s: read(TOOLS / "lora" / "lycoris_lora.safetensors", good + s)
              for s in (".lora_down.weight", ".lora_up.weight", ".alpha")}
    stray = ["lora_unet_no_such_block.lora_down.weight", "lora_unet_no_such_block.lora_up.weight", "lora_unet_no_such_block.alpha"]
    arrays[stray[0]], arrays[stray[1]], arrays[stray[2]] = np.ones((2, 8)), np.ones((8, 2)), np.array(1.0)
    # A text-encoder module: the tiny U-Net checkpoint has no text encoder to take it.
    te = ["lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", "lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight"]
    arrays[te[0]], arrays[te[1]] = np.ones((2, 8)), np.ones((8, 2))
    write_safetensors(loras / "stray_keys.safetensors", arrays)

    def logged():
        lines = [e["m"] for e in server.get("/internal/logs/raw").json()["entries"]]
        return [l for l in lines if l.startswith("lora key not loaded: ")]

    before = len(logged())
    for loader in ({"class_type": "LoraLoaderModelOnly", "inputs": {"model": ["1", 0], "lora_name": "stray_keys.safetensors",
                                                                    "strength_model": 1.0}},
                   {"class_type": "LoraLoader", "inputs": {"model": ["1", 0], "clip": ["1", 1], "lora_name": "stray_keys.safetensors",
                                                           "strength_model": 1.0, "strength_clip": 1.0}}):
        prompt = {
            "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny_unet.safetensors"}},
            "2": loader,
            "3": {"class_type": "LTWeightStats", "inputs": {"model": ["2", 0], "filter": "conv_in", "bins": 16}},
        }
        h = run(server, prompt)
        assert h["status"]["status_str"] == "success", h["status"]
        stats = json.loads(h["outputs"]["3"]["text"][0])
        assert stats[0]["name"] == "conv_in"
        new = logged()[before:]
        # One line per key that changes nothing, in key order; the conv_in module loads.
        assert new == [f"lora key not loaded: {k}\n" for k in sorted(stray + te)], new
        before += len(new)
