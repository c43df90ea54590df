#!/usr/bin/env python3
"""LTModelOverview and the analysis nodes on a full-size SDXL UNet (release build), with
WeightWatcher measured in the same run on the same layers.

  1. `weightlens overview UNET --metric l2_norm` and `--metric alpha` over every 2-D/4-D weight
     of the whole UNet (targets: 5 s and 90 s), one process each, wall time;
  2. each analysis node on the four reference layers through the API (POST /prompt until
     `executing {node: null}`; a fresh server per round so no output is cached; target 400 ms);
  3. WeightWatcher 0.7.7 `analyze(randomize=False)` on the weights of input_blocks.4 against
     `weightlens overview --filter IN04 --metric alpha` on the same file: wall times and their
     ratio, and how many dense layers agree on alpha within 0.05. WeightWatcher analyses a k x k
     conv as k^2 matrices W[:, :, i, j] while LTModelOverview reshapes it, so only dense layers are
     compared.

Usage: bench_overview.py --bin .build/release/weightlens --checkpoint bench/out/sdxl_unet_f16.safetensors [--rounds 3]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import types

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
from bench_api import LAYERS, run_prompt, served  # noqa: E402

PREFIX = "model.diffusion_model."
# LTExpandedWeights needs a chain or an attention module; one per reference layer.
EXPANDED = {
    LAYERS[0]: ("input_blocks.1.0.in_layers.2, input_blocks.1.0.out_layers.3", "conv_chain", -1),
    LAYERS[1]: ("input_blocks.4.1.transformer_blocks.0.attn1", "attention_qk", -1),
    LAYERS[2]: ("output_blocks.0.1.transformer_blocks.0.attn1", "attention_ov", -1),
    LAYERS[3]: ("middle_block.1.transformer_blocks.0.attn2", "attention_ov", -1),
}


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def timed(cmd):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    return time.perf_counter() - t0, json.loads(out)


def node_prompts(name, layer):
    loader = {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": name}}
    chain, mode, head = EXPANDED[layer]
    return {
        "LTWeightNMF": {"1": loader, "2": {"class_type": "LTWeightNMF", "inputs": {
            "model": ["1", 0], "layer_name": layer, "num_filters": 16, "rank": 3}}},
        "LTWeightStats": {"1": loader, "2": {"class_type": "LTWeightStats", "inputs": {
            "model": ["1", 0], "filter": layer, "bins": 64}}},
        "LTModelOverview": {"1": loader, "2": {"class_type": "LTModelOverview", "inputs": {
            "model": ["1", 0], "filter": layer, "metric": "alpha"}}},
        "LTExpandedWeights": {"1": loader, "2": {"class_type": "LTExpandedWeights", "inputs": {
            "model": ["1", 0], "layer_name": chain, "mode": mode, "head": head}}},
        "LTTopInputs": {"1": loader, "2": {"class_type": "LTTopInputs", "inputs": {
            "model": ["1", 0], "layer_name": layer, "output_channel": 0, "top_k": 8}}},
    }


def node_times(binary, ckpt, rounds):
    name = os.path.basename(ckpt)
    times = {}
    for _ in range(rounds):
        with served(binary, ckpt, "checkpoints", "wl-bench-overview-") as (server, ws, cid):
            # Open the checkpoint once (the loader's own cost is in bench/api).
            run_prompt(server, ws, cid, {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": name}},
                                         "2": {"class_type": "LTListLayers", "inputs": {"model": ["1", 0], "filter": "IN01"}},
                                         "3": {"class_type": "ShowText|pysssss", "inputs": {"text": ["2", 0]}}})
            for layer in LAYERS:
                for node, prompt in node_prompts(name, layer).items():
                    times.setdefault((node, layer), []).append(run_prompt(server, ws, cid, prompt)[0])
    return times


def import_weightwatcher():
    try:
        import torch  # noqa: F401
        stub = ""
    except ImportError:
        # WeightWatcher only compares types against torch.Tensor and asks torch.cuda whether a GPU
        # exists; its analysis of numpy weights is numpy/scipy. Without torch installed, a stub
        # module answers those two questions.
        torch = types.ModuleType("torch")
        torch.__version__ = "none (stub)"
        torch.Tensor = type("Tensor", (), {})
        torch.nn = types.SimpleNamespace(Module=type("Module", (), {}))
        torch.cuda = types.SimpleNamespace(is_available=lambda: False)
        sys.modules["torch"] = torch
        stub = " (torch stub: no torch installed)"
    import logging
    import weightwatcher
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    return weightwatcher, stub


def weightwatcher_block(ckpt, block_prefix):
    from safetensors import safe_open
    ww, stub = import_weightwatcher()
    weights = {}
    with safe_open(ckpt, framework="np") as f:
        for key in f.keys():
            if key.startswith(PREFIX + block_prefix) and key.endswith(".weight"):
                w = f.get_tensor(key)
                if w.ndim in (2, 4):
                    weights[key[len(PREFIX):]] = w.astype(np.float32)
    t0 = time.perf_counter()
    details = ww.WeightWatcher(model=weights).analyze(randomize=False, plot=False)
    seconds = time.perf_counter() - t0
    alphas = {row["name"]: row["alpha"] for _, row in details.iterrows()}
    return seconds, alphas, weights, ww.__version__ + stub


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-whole", action="store_true", help="skip the whole-UNet overviews")
    args = ap.parse_args()
    ckpt = os.path.abspath(args.checkpoint)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
    print(f"host: {cpu}, {os.cpu_count()} cores; load {load()}")
    print(f"checkpoint: {os.path.basename(ckpt)} ({os.path.getsize(ckpt) / 1e9:.2f} GB)")

    if not args.skip_whole:
        for metric, target in (("l2_norm", 5.0), ("alpha", 90.0)):
            before = load()
            seconds, report = timed([args.bin, "overview", ckpt, "--metric", metric])
            print(f"overview --metric {metric:8s} whole UNet: {len(report)} layers in {seconds:7.2f} s "
                  f"(target {target:.0f} s, {'met' if seconds <= target else 'MISSED'}); load {before} -> {load()}")

    times = node_times(args.bin, ckpt, args.rounds) if args.rounds > 0 else {}
    print(f"\nper node through the API, median of {args.rounds} fresh servers (target 400 ms); load {load()}")
    for (node, layer), values in times.items():
        med = statistics.median(values)
        print(f"  {node:18s} {layer:58s} {med:8.1f} ms {'' if med <= 400 else 'MISSED'}")

    ww_seconds, ww_alpha, weights, version = weightwatcher_block(ckpt, "input_blocks.4.")
    ours_seconds, ours = timed([args.bin, "overview", ckpt, "--filter", "IN04", "--metric", "alpha"])
    ours_alpha = {e["name"]: e["alpha"] for e in ours}
    dense = [n[:-len(".weight")] for n, w in weights.items() if w.ndim == 2]
    agree = [n for n in dense if n in ww_alpha and ours_alpha.get(n) is not None
             and abs(ww_alpha[n] - ours_alpha[n]) <= 0.05]
    print(f"\nWeightWatcher {version} analyze(randomize=False) on input_blocks.4 ({len(weights)} weights): "
          f"{ww_seconds:.2f} s; weightlens overview --filter IN04 --metric alpha: {ours_seconds:.2f} s; "
          f"ratio {ww_seconds / ours_seconds:.1f}x; load {load()}")
    print(f"alpha within 0.05 on {len(agree)}/{len(dense)} dense layers")
    for n in dense:
        if n not in agree:
            print(f"  differs: {n}: WeightWatcher {ww_alpha.get(n)}, weightlens {ours_alpha.get(n)}")


if __name__ == "__main__":
    main()
