"""`weightlens inspect|render --lora FILE[:STRENGTH]`: the layer read is W + strength x dW. The
numbers are checked against numpy on the base weights and dW made here from the LoRA's own
factors (up @ down x alpha / rank), both files written by the real tools (Tests/Fixtures/tools)."""
import json
import pathlib
import subprocess

import numpy as np

from png_support import decode

TOOLS = pathlib.Path(__file__).resolve().parents[1] / "Fixtures" / "tools"
BASE = str(TOOLS / "diffusers_unet" / "unet" / "diffusion_pytorch_model.safetensors")
LORA = str(TOOLS / "lora" / "lycoris_lora.safetensors")
FLUX_LORA = str(TOOLS / "lora" / "peft_flux.safetensors")


def tensors(path):
    """Every float32 tensor of a safetensors file, read with the format's own layout."""
    raw = pathlib.Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    out = {}
    for key, e in header.items():
        if key == "__metadata__":
            continue
        a, b = e["data_offsets"]
        assert e["dtype"] == "F32"
        out[key] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(e["shape"])
    return out


def delta(module, shape):
    """A kohya module's dW at strength 1: up @ down (convolutions flattened) x alpha / rank."""
    t = tensors(LORA)
    down, up = t[module + ".lora_down.weight"], t[module + ".lora_up.weight"]
    r = down.shape[0]
    d = up.reshape(up.shape[0], r).astype(np.float64) @ down.reshape(r, -1).astype(np.float64)
    return (d * (float(t[module + ".alpha"]) / r)).reshape(shape)


def run(weightlens_bin, *args):
    return subprocess.run([weightlens_bin, *args], capture_output=True, text=True, timeout=300)


def inspect_json(weightlens_bin, layer, *loras):
    args = ["inspect", BASE, "--layer", layer, "--json", "--top-k", "4"]
    for spec in loras:
        args += ["--lora", spec]
    r = run(weightlens_bin, *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def check_stats(report, w):
    s = report["stats"]
    assert abs(s["l2_norm"] - np.linalg.norm(w)) <= 1e-5 * np.linalg.norm(w)
    assert abs(s["mean"] - w.mean()) <= 1e-5 * np.abs(w).max()
    assert abs(s["min"] - w.min()) <= 1e-6 and abs(s["max"] - w.max()) <= 1e-6
    sv = np.linalg.svd(w.reshape(w.shape[0], -1), compute_uv=False)
    assert np.allclose(report["singular_values"], sv[:4], rtol=1e-4, atol=1e-6 * sv[0])


def test_inspect_sees_w_plus_strength_delta(weightlens_bin):
    for layer, module in [("conv_in", "lora_unet_conv_in"),
                          ("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q",
                           "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q")]:
        w = tensors(BASE)[layer + ".weight"].astype(np.float64)
        d = delta(module, w.shape)
        plain = inspect_json(weightlens_bin, layer)
        assert "loras" not in plain
        check_stats(plain, w)
        half = inspect_json(weightlens_bin, layer, LORA + ":0.5")
        assert half["loras"] == [{"file": LORA, "strength": 0.5, "changes_layer": True}]
        check_stats(half, w + 0.5 * d)
        # Repeatable, applied in order: 0.5 - 1.25 = -0.75 of dW; no strength means 1.
        both = inspect_json(weightlens_bin, layer, LORA + ":0.5", LORA + ":-1.25")
        check_stats(both, w - 0.75 * d)
        check_stats(inspect_json(weightlens_bin, layer, LORA), w + d)


def test_inspect_text_says_whether_the_lora_changes_the_layer(weightlens_bin):
    r = run(weightlens_bin, "inspect", BASE, "--layer", "conv_in", "--lora", LORA + ":2")
    assert r.returncode == 0, r.stderr
    assert f"lora        {LORA} x 2: changes this layer" in r.stdout
    # The LoRA has modules for every linear and conv layer, none for the norms.
    r = run(weightlens_bin, "inspect", BASE, "--layer", "conv_norm_out", "--lora", LORA)
    assert r.returncode == 0 and "does not change this layer" in r.stdout, r.stdout + r.stderr


def test_render_reads_the_patched_layer(weightlens_bin, tmp_path):
    w = tensors(BASE)["conv_in.weight"].astype(np.float64)
    d = delta("lora_unet_conv_in", w.shape)
    report = tmp_path / "stats.json"
    r = run(weightlens_bin, "render", BASE, "--view", "stats", "--layers", "conv_in", "--lora", LORA + ":3",
            "--out", str(tmp_path / "stats.png"), "--report", str(report))
    assert r.returncode == 0, r.stderr
    entry = json.loads(report.read_text())[0]
    assert entry["name"] == "conv_in"
    assert abs(entry["l2_norm"] - np.linalg.norm(w + 3 * d)) <= 1e-5 * np.linalg.norm(w + 3 * d)
    pictures = []
    for name, extra in [("plain", []), ("patched", ["--lora", LORA + ":3"])]:
        out = tmp_path / f"{name}.png"
        r = run(weightlens_bin, "render", BASE, "--layer", "conv_in", "--view", "weights", "--out", str(out), *extra)
        assert r.returncode == 0, r.stderr
        pictures.append(decode(out.read_bytes())[2])
    assert pictures[0] != pictures[1]


def test_lora_errors_are_the_loader_nodes(weightlens_bin, tmp_path):
    missing = str(tmp_path / "nope.safetensors")
    r = run(weightlens_bin, "inspect", BASE, "--layer", "conv_in", "--lora", missing + ":0.5")
    assert r.returncode == 1 and r.stderr.startswith(f"weightlens: {missing}: Cannot load LoRA 'nope.safetensors': "), r.stderr
    r = run(weightlens_bin, "render", BASE, "--layer", "conv_in", "--lora", FLUX_LORA, "--out", str(tmp_path / "x.png"))
    assert r.returncode == 1 and "Cannot apply LoRA 'peft_flux.safetensors': " in r.stderr and "Flux" in r.stderr, r.stderr
    r = run(weightlens_bin, "inspect", BASE, "--layer", "conv_in", "--lora", BASE)
    assert r.returncode == 1 and "is not a LoRA" in r.stderr, r.stderr
