"""`weightlens render --view stats|depth|top-inputs|conv-chain|attention-qk|attention-ov`: the
analysis nodes run headless from the CLI. Each view writes the node's picture(s) and, with
--report, its JSON report; the reports are checked against `weightlens stats` / `overview` (the
same JSON) and against numpy on the same weights, the pictures are decoded."""
import json
import os
import subprocess

import numpy as np
import pytest

from png_support import decode
from test_api_analysis_nodes import read_tensor

CONV = "input_blocks.1.0.in_layers.2"
CONV2 = "input_blocks.1.0.out_layers.3"
ATTN = "input_blocks.4.1.transformer_blocks.0.attn1"


@pytest.fixture(scope="module")
def checkpoint(weightlens_bin, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("cli-views") / "sdxl16.safetensors")
    subprocess.run([weightlens_bin, "make-checkpoint", "--layout", "sdxl", "--scale", "16", "--parts", "unet",
                    "--out", path], check=True, capture_output=True)
    return path


def render(weightlens_bin, checkpoint, tmp_path, view, *args):
    out, report = str(tmp_path / f"{view}.png"), str(tmp_path / f"{view}.json")
    r = subprocess.run([weightlens_bin, "render", checkpoint, "--view", view, *args, "--out", out, "--report", report],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith(out + "  "), r.stdout
    width, height, pixels = decode(open(out, "rb").read())
    assert width >= 480 and height > 100
    # More than page white and ink: the picture draws data (a coloured, non-grey pixel).
    sample = set(pixels[:: max(1, len(pixels) // 20000)])
    assert len(sample) > 4 and any(max(p[:3]) - min(p[:3]) > 40 for p in sample), sample
    return json.load(open(report)), r.stdout


def cli_json(weightlens_bin, *args):
    r = subprocess.run([weightlens_bin, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_stats_view_reports_what_weightlens_stats_prints(weightlens_bin, checkpoint, tmp_path):
    report, _ = render(weightlens_bin, checkpoint, tmp_path, "stats", "--layers", "IN01", "--bins", "32")
    assert report == cli_json(weightlens_bin, "stats", checkpoint, "--filter", "IN01", "--bins", "32")
    w = read_tensor(checkpoint, CONV)
    entry = next(e for e in report if e["name"] == CONV)
    assert abs(entry["std"] - w.std()) <= 1e-5 * w.std()


def test_depth_view_reports_what_weightlens_overview_prints(weightlens_bin, checkpoint, tmp_path):
    report, _ = render(weightlens_bin, checkpoint, tmp_path, "depth", "--layers", "IN04", "--metric", "stable_rank")
    assert report == cli_json(weightlens_bin, "overview", checkpoint, "--filter", "IN04", "--metric", "stable_rank")
    assert len(report) >= 10 and all(e["block"] == "IN04" and e["stable_rank"] >= 1 for e in report)


def test_top_inputs_view_ranks_by_kernel_norm(weightlens_bin, checkpoint, tmp_path):
    report, _ = render(weightlens_bin, checkpoint, tmp_path, "top-inputs", "--layer", CONV, "--output-channel", "3",
                       "--top-k", "5")
    w = read_tensor(checkpoint, CONV)
    norms = np.sqrt((w[3] ** 2).sum(axis=(1, 2)))
    order = sorted(range(len(norms)), key=lambda i: (-norms[i], i))[:5]
    assert report["layer"] == CONV and report["output_channel"] == 3
    assert [i["input_channel"] for i in report["inputs"]] == order
    assert np.allclose([i["l2_norm"] for i in report["inputs"]], norms[order], rtol=1e-5)


def test_conv_chain_view_composes_two_3x3_convs_into_5x5(weightlens_bin, checkpoint, tmp_path):
    report, _ = render(weightlens_bin, checkpoint, tmp_path, "conv-chain", "--layers", f"{CONV},{CONV2}")
    w1, w2 = read_tensor(checkpoint, CONV), read_tensor(checkpoint, CONV2)
    assert report["mode"] == "conv_chain" and report["layers"] == [CONV, CONV2]
    assert report["shape"] == [w2.shape[0], w1.shape[1], 5, 5]


@pytest.mark.parametrize("view,mode", [("attention-qk", "attention_qk"), ("attention-ov", "attention_ov")])
def test_attention_views_match_per_head_products(weightlens_bin, checkpoint, tmp_path, view, mode):
    report, _ = render(weightlens_bin, checkpoint, tmp_path, view, "--layer", ATTN, "--head", "0")
    assert report["mode"] == mode and len(report["singular_values"]) == 1
    dh = report["head_dim"]
    if mode == "attention_qk":
        wq, wk = read_tensor(checkpoint, ATTN + ".to_q"), read_tensor(checkpoint, ATTN + ".to_k")
        m = wq[:dh].T @ wk[:dh]
    else:
        wo, wv = read_tensor(checkpoint, ATTN + ".to_out.0"), read_tensor(checkpoint, ATTN + ".to_v")
        m = wo[:, :dh] @ wv[:dh]
    s = np.linalg.svd(m, compute_uv=False)
    ours = np.array(report["singular_values"][0])
    assert np.allclose(ours, s[:len(ours)], rtol=1e-3, atol=1e-4 * s[0])


def test_unknown_layer_is_one_sentence_naming_the_closest(weightlens_bin, checkpoint):
    r = subprocess.run([weightlens_bin, "render", checkpoint, "--view", "top-inputs", "--layer", "input_blocks.1.0.in_layer.2",
                        "--out", os.devnull], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("weightlens: ") and CONV in lines[0], r.stderr


def test_views_without_their_layer_are_refused(weightlens_bin, checkpoint):
    r = subprocess.run([weightlens_bin, "render", checkpoint, "--view", "conv-chain"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "--view conv-chain needs" in r.stderr


def test_nmf_factors_view_is_the_node_report(weightlens_bin, checkpoint, tmp_path):
    report, _ = render(weightlens_bin, checkpoint, tmp_path, "nmf-factors", "--layer", CONV, "--num-filters", "8",
                       "--rank", "4")
    w = read_tensor(checkpoint, CONV)
    assert report["layer"] == CONV and report["rank"] == 4 and report["output_channels"] == list(range(8))
    assert len(report["factors"]) == 4 and all(len(f) == w.shape[1] and min(f) >= 0 for f in report["factors"])
    assert 0 <= report["relative_error"] < 1
