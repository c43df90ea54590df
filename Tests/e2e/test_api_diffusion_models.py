"""UNETLoader and UnetLoaderGGUF through the API: folder listings, /object_info options and prompts
that load Flux / SD3.5 files (diffusion-model-only and all-in-one) and run the LT nodes on them."""
import pathlib
import subprocess

import pytest

from api_support import Server, collect_until_done, new_client_id, run_prompt as run


@pytest.fixture(scope="module")
def server(weightlens_bin, tmp_path_factory):
    base = tmp_path_factory.mktemp("diffusion_models")
    dm = base / "models" / "diffusion_models"
    unet = base / "models" / "unet"
    extra = base / "elsewhere" / "dits"
    for d in (dm, unet, extra):
        d.mkdir(parents=True)

    def make(layout, parts, out):
        subprocess.run([weightlens_bin, "make-checkpoint", "--layout", layout, "--scale", "64", "--parts", parts,
                        "--dtype", "bf16", "--out", str(out)], check=True, capture_output=True)

    make("flux", "diffusion-model", dm / "flux_dev_s64.safetensors")
    make("sd35", "all", unet / "sd35_all_in_one_s64.safetensors")
    make("flux-schnell", "diffusion-model", extra / "schnell_s64.safetensors")
    # Only listed, never opened here: the .gguf list is ComfyUI-GGUF's unet_gguf folder.
    (dm / "flux_q8.gguf").write_bytes(b"GGUF")
    config = base / "extra_model_paths.yaml"
    config.write_text(f"mine:\n  base_path: {base / 'elsewhere'}\n  diffusion_models: dits\n")
    s = Server(weightlens_bin, base, ["--extra-model-paths-config", str(config)])
    yield s
    s.stop()


def test_folders_and_object_info_list_the_right_files(server):
    expected = ["flux_dev_s64.safetensors", "schnell_s64.safetensors", "sd35_all_in_one_s64.safetensors"]
    assert server.get("/models/diffusion_models").json() == expected
    info = server.get("/object_info/UNETLoader").json()["UNETLoader"]
    assert info["input"]["required"]["unet_name"][0] == expected
    assert info["input"]["required"]["weight_dtype"][0] == ["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"]
    assert info["category"] == "advanced/loaders" and info["display_name"] == "Load Diffusion Model"
    assert info["output"] == ["MODEL"]
    gguf = server.get("/object_info/UnetLoaderGGUF").json()["UnetLoaderGGUF"]
    assert gguf["input"]["required"]["unet_name"][0] == ["flux_q8.gguf"]
    assert gguf["category"] == "bootleg" and gguf["display_name"] == "Unet Loader (GGUF)"


@pytest.mark.parametrize("name,flt,first,count", [
    ("flux_dev_s64.safetensors", "D18-S00", "double_blocks.18.img_mod.lin", 13),
    ("schnell_s64.safetensors", "img_attn.qkv", "double_blocks.0.img_attn.qkv", 19),
    ("sd35_all_in_one_s64.safetensors", "J37", "joint_blocks.37.context_block.attn.qkv", 11),
])
def test_unetloader_lists_dit_layers_by_block_and_substring(server, name, flt, first, count):
    prompt = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": name, "weight_dtype": "fp8_e4m3fn"}},
        "2": {"class_type": "LTListLayers", "inputs": {"model": ["1", 0], "filter": flt}},
        "3": {"class_type": "ShowText|pysssss", "inputs": {"text": ["2", 0]}},
    }
    h = run(server, prompt)
    assert h["status"]["status_str"] == "success", h["status"]
    names = h["outputs"]["3"]["text"][0].split("\n")
    assert names[0] == first and len(names) == count


def test_unetloader_feeds_ltvisualizeweights(server):
    prompt = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux_dev_s64.safetensors", "weight_dtype": "default"}},
        "2": {"class_type": "LTVisualizeWeights", "inputs": {"model": ["1", 0], "layer_name": "double_blocks.0.img_mlp.0",
                                                              "num_filters": 16, "visualization_mode": "both"}},
    }
    h = run(server, prompt)
    assert h["status"]["status_str"] == "success", h["status"]
    # One compact preview on the node, the two full pages (weights, expanded) in `pages`.
    assert len(h["outputs"]["2"]["images"]) == 1
    images = h["outputs"]["2"]["pages"]
    assert len(images) == 2
    png = server.get("/view", params={"filename": images[0]["filename"], "type": images[0]["type"],
                                      "subfolder": images[0]["subfolder"]})
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_names_and_dtypes_are_refused(server):
    bad_dtype = {"1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux_dev_s64.safetensors", "weight_dtype": "fp4"}},
                 "2": {"class_type": "LTListLayers", "inputs": {"model": ["1", 0], "filter": ""}},
                 "3": {"class_type": "ShowText|pysssss", "inputs": {"text": ["2", 0]}}}
    r = server.post("/prompt", {"prompt": bad_dtype})
    assert r.status_code == 400 and "weight_dtype" in r.text
    missing = dict(bad_dtype, **{"1": {"class_type": "UNETLoader", "inputs": {"unet_name": "../x.safetensors",
                                                                              "weight_dtype": "default"}}})
    r = server.post("/prompt", {"prompt": missing})
    assert r.status_code == 400 and "unet_name" in r.text
