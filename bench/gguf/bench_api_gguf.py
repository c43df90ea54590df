#!/usr/bin/env python3
"""LTVisualizeWeights `both` on a GGUF Q4_K layer through the API (bench/gguf/run.sh, part 3).

Each run starts a fresh `weightlens serve` whose models/diffusion_models holds the one-tensor GGUF
file (Flux's double_blocks.0.img_mlp.0, 12288 x 3072, Q4_K) and sends UnetLoaderGGUF ->
LTVisualizeWeights(both) as a ComfyUI client does: POST /prompt, wait for `executing {node: null}`.
References in the same run: the same layer stored as F16 (--reference; the difference is the cost
of dequantizing), and the best GET /prompt round trip. Besides wall time, each run reports the
server's CPU time (user + system, all threads) for the prompt: on a loaded machine wall time is
mostly waiting for a core, and CPU / 2 estimates the wall time on two idle cores.

    bench_api_gguf.py --bin .build/release/weightlens --model bench/out/gguf/img_mlp0_Q4_K.gguf \
        --reference bench/out/gguf/img_mlp0_F16.gguf [--runs 5]
"""
import argparse
import os
import statistics
import sys


sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
from bench_api import cpu_ms, execution_span, round_trip_ms, run_prompt, served  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--reference")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    results = [measure(args.bin, args.model, args.runs)]
    if args.reference:
        results.append(measure(args.bin, args.reference, args.runs))
    ref = min(min(r[2]) for r in results)
    print(f"reference: GET /prompt round trip, best {ref:.2f} ms")
    for label, viz, _, cpu in results:
        best, med = min(viz), statistics.median(viz)
        print(f"LTVisualizeWeights both, {label}: best {best:.0f} ms, median {med:.0f} ms; "
              f"CPU best {min(cpu):.0f} ms, median {statistics.median(cpu):.0f} ms")
    if args.reference:
        print(f"stored type vs F16: {statistics.median(results[0][1]) / statistics.median(results[1][1]):.2f}x (median)")
    print("target (issue 11): <= 500 ms for Q4_K")
    return 0


def measure(binary, model, runs):
    """(label, wall ms per run, GET /prompt ms per run, server CPU ms per run) for fresh servers holding `model`."""
    model = os.path.abspath(model)
    label = os.path.basename(model).replace("img_mlp0_", "").replace(".gguf", "") + " 12288x3072"
    viz, spans, http, cpu = [], [], [], []
    for run in range(runs):
        with served(binary, model, "diffusion_models", "wl-bench-gguf-") as (server, ws, cid):
            http.append(round_trip_ms(server))
            cpu0 = cpu_ms(server.proc.pid)
            ms, record = run_prompt(server, ws, cid, {
                "1": {"class_type": "UnetLoaderGGUF", "inputs": {"unet_name": os.path.basename(model)}},
                "2": {"class_type": "LTVisualizeWeights", "inputs": {
                    "model": ["1", 0], "layer_name": "double_blocks.0.img_mlp.0", "num_filters": 16,
                    "visualization_mode": "both"}},
            })
            cpu.append(cpu_ms(server.proc.pid) - cpu0)
            viz.append(ms)
            spans.append(execution_span(record))
        print(f"{label} run {run + 1}: {viz[-1]:.0f} ms (executor {spans[-1]:.0f} ms, server CPU {cpu[-1]:.0f} ms)")
    return label, viz, http, cpu


if __name__ == "__main__":
    sys.exit(main())
