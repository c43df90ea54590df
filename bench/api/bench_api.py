#!/usr/bin/env python3
"""API benchmark on a full-size SDXL checkpoint, through `weightlens serve` (release build).

Measures, over HTTP + WebSocket exactly as a ComfyUI client does (POST /prompt, wait for
`executing {node: null}`):
  1. the first prompt CheckpointLoaderSimple -> LTListLayers -> ShowText, load included (target < 100 ms);
  2. LTVisualizeWeights `both` on four layers, each a fresh prompt (target < 400 ms each);
  3. the server's resident memory afterwards (target < 300 MB).
Each LTVisualizeWeights prompt also reports the server's CPU time (user + system, all threads): on a
loaded machine wall time is mostly waiting for a core, CPU time is the work itself.
Reference measured in the same run: the round trip of GET /prompt on the same connection pool,
so the ratio column shows how much of each figure is work beyond plain HTTP.

Usage: bench_api.py --bin .build/release/weightlens --checkpoint bench/out/sdxl_full_f16.safetensors [--runs 5]
"""
import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import requests
import websocket

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "e2e"))
from api_support import Server  # noqa: E402

# One keep-alive session, as client libraries use; warmed by the reference requests.
SESSION = requests.Session()

LAYERS = [
    "input_blocks.1.0.in_layers.2",
    "input_blocks.4.1.transformer_blocks.0.attn1.to_q",
    "output_blocks.0.1.transformer_blocks.0.ff.net.0.proj",
    "middle_block.1.proj_in",
]


def cpu_ms(pid):
    """User + system CPU time of process `pid` so far, all threads (10 ms ticks on Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def served(binary, model, folder, prefix):
    """A fresh `weightlens serve` whose models/FOLDER holds a symlink to MODEL, and a WebSocket
    client connected to it: yields (server, ws, client_id); stops and cleans up afterwards."""
    base = tempfile.mkdtemp(prefix=prefix)
    os.makedirs(os.path.join(base, "models", folder))
    os.symlink(model, os.path.join(base, "models", folder, os.path.basename(model)))
    server = Server(binary, base)
    try:
        cid = str(uuid.uuid4())
        ws = websocket.create_connection(server.ws_url + "/ws?clientId=" + cid, timeout=120)
        ws.recv()
        try:
            yield server, ws, cid
        finally:
            ws.close()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def round_trip_ms(server, count=20):
    """The reference: best of COUNT plain GET /prompt round trips on the keep-alive session."""
    t = []
    for _ in range(count):
        t0 = time.perf_counter()
        SESSION.get(server.url + "/prompt", timeout=10).raise_for_status()
        t.append((time.perf_counter() - t0) * 1000)
    return min(t)


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_prompt(server, ws, client_id, prompt):
    """Wall time from POST /prompt to `executing {node: null}` for it, and the final history record."""
    t0 = time.perf_counter()
    r = SESSION.post(server.url + "/prompt", data=json.dumps({"prompt": prompt, "client_id": client_id}), timeout=120)
    r.raise_for_status()
    pid = r.json()["prompt_id"]
    while True:
        m = json.loads(ws.recv())
        if m["type"] == "executing" and m["data"].get("node") is None and m["data"].get("prompt_id") == pid:
            break
    elapsed = time.perf_counter() - t0
    record = SESSION.get(f"{server.url}/history/{pid}", timeout=30).json()[pid]
    if record["status"]["status_str"] != "success":
        raise SystemExit(f"prompt failed: {json.dumps(record['status'])[:2000]}")
    return elapsed * 1000, record


def execution_span(record):
    """Milliseconds between the history's execution_start and final message timestamps."""
    messages = record["status"]["messages"]
    return messages[-1][1]["timestamp"] - messages[0][1]["timestamp"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--runs", type=int, default=5, help="fresh servers for the cold first-prompt figure")
    args = ap.parse_args()
    ckpt = os.path.abspath(args.checkpoint)
    size_gb = os.path.getsize(ckpt) / 1e9
    print(f"host: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"checkpoint: {os.path.basename(ckpt)} ({size_gb:.2f} GB)")

    list_ms, viz_ms, http_ms, rss = [], {l: [] for l in LAYERS}, [], []
    viz_cpu = {l: [] for l in LAYERS}  # server CPU (user + system, all threads) per prompt
    overhead = []  # wall time minus the executor's own execution_start -> end span
    for run in range(args.runs):
        with served(args.bin, ckpt, "checkpoints", "wl-bench-api-") as (server, ws, cid):
            # Reference: plain HTTP round trips on this server, same client library.
            http_ms.append(round_trip_ms(server))
            name = os.path.basename(ckpt)
            ms, record = run_prompt(server, ws, cid, {
                "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": name}},
                "3": {"class_type": "LTListLayers", "inputs": {"model": ["1", 0], "filter": ""}},
                "4": {"class_type": "ShowText|pysssss", "inputs": {"text": ["3", 0]}},
            })
            list_ms.append(ms)
            overhead.append(ms - execution_span(record))
            count = len(record["outputs"]["4"]["text"][0].split("\n"))
            for layer in LAYERS:
                cpu0 = cpu_ms(server.proc.pid)
                ms, rec = run_prompt(server, ws, cid, {
                    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": name}},
                    "2": {"class_type": "LTVisualizeWeights", "inputs": {
                        "model": ["1", 0], "layer_name": layer, "num_filters": 16, "visualization_mode": "both"}},
                })
                viz_ms[layer].append(ms)
                viz_cpu[layer].append(cpu_ms(server.proc.pid) - cpu0)
                overhead.append(ms - execution_span(rec))
            rss.append(rss_mb(server.proc.pid))
        print(f"run {run + 1}: list {list_ms[-1]:.1f} ms ({count} layers), "
              + ", ".join(f"{viz_ms[l][-1]:.0f}" for l in LAYERS) + f" ms, RSS {rss[-1]:.0f} MB")

    ref = min(http_ms)
    print(f"\nreference: GET /prompt round trip, best {ref:.2f} ms")
    print(f"{'measure':72s} {'best':>9s} {'median':>9s} {'target':>8s} {'x ref':>7s}")
    rows = [("first prompt Checkpoint -> LTListLayers -> ShowText (cold)", list_ms, 100.0)]
    rows += [(f"LTVisualizeWeights both {l}", viz_ms[l], 400.0) for l in LAYERS]
    ok = True
    for label, values, target in rows:
        best, med = min(values), statistics.median(values)
        ok &= med < target
        print(f"{label:72s} {best:8.1f}ms {med:8.1f}ms {target:7.0f}ms {med / ref:7.1f}")
    for layer in LAYERS:
        print(f"  server CPU for {layer}: best {min(viz_cpu[layer]):.0f} ms, median {statistics.median(viz_cpu[layer]):.0f} ms")
    print(f"{'server RSS after all prompts (max over runs)':72s} {max(rss):8.0f}MB {statistics.median(rss):8.0f}MB {300:7.0f}MB")
    ok &= max(rss) < 300
    print(f"server overhead per prompt (wall minus executor span): median {statistics.median(overhead):.1f} ms, "
          f"max {max(overhead):.1f} ms over {len(overhead)} prompts")
    print("\nall targets met" if ok else "\nSOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
