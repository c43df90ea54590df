#!/usr/bin/env python3
"""Soak: `weightlens serve` (release) on loopback under a bounded mixed load for MINUTES.

Load, all at once (every connection to 127.0.0.1 only):
  * WS_CLIENTS WebSocket clients, each queueing LTVisualizeWeights prompts on random layers of
    the checkpoint and waiting for their end; about one prompt in eight is cancelled from the
    queue (POST /queue {"delete"}) and one in eight is interrupted while it runs (POST /interrupt);
  * a /view downloader fetching the previews those prompts wrote (some read slowly, some give up
    half way), and an /object_info poller;
  * slow readers: raw connections that request /object_info and read a few bytes a second;
  * stalled WebSocket clients: connected, never read a byte, replaced every minute;
  * a latency probe: GET /queue on its own keep-alive connection every 0.5 s.
Every 10 s: server RSS (anonymous memory; the mapped checkpoint is shown beside), open file descriptors, temp-folder size and file count.

At the end the queue drains and every queued prompt is looked up in /history: each must have a
record (finished: success, error or interrupted) or have been removed by a cancellation the
server confirmed. A client that sees its prompt end reads its /history record at once (a pruner
thread then deletes confirmed records every 30 s, so history, kept to 10,000 records by design,
does not read as a leak; --keep-history turns that off). The last line reads
    soak: P prompts, F finished, L lost, RSS a→b MB, fds a→b, p99 X ms
and the exit status is non-zero when L > 0 or RSS / fds kept growing after warm-up.
"""
import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests
import websocket

STOP = threading.Event()
LOCK = threading.Lock()
STATS = {"queued": {}, "cancelled": set(), "finished": set(), "pruned": set(), "interrupts": 0, "views": 0, "view_bytes": 0, "object_info": 0,
         "slow_reads": 0, "stalled_ws": 0, "errors": []}
LATENCY = []


def note_error(what):
    with LOCK:
        if len(STATS["errors"]) < 50:
            STATS["errors"].append(f"{time.strftime('%H:%M:%S')} {what}")


def start_server(binary, base):
    log = open(os.path.join(base, "server.log"), "w")
    proc = subprocess.Popen([binary, "serve", "--port", "0", "--base-directory", base, "--no-demo-checkpoint"],
                            stdout=subprocess.PIPE, stderr=log, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if "http://" in line:
            port = int(line.strip().rsplit(":", 1)[1])
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, port
    proc.kill()
    raise SystemExit("the server did not start: see " + log.name)


def layers_of(binary, checkpoint):
    out = subprocess.run([binary, "layers", checkpoint, "--json"], check=True, capture_output=True, text=True).stdout
    return [l["name"] for l in json.loads(out) if len(l["shape"]) >= 2]


def prompt_client(url, ws_url, ckpt, layers, seed):
    rng = random.Random(seed)
    session = requests.Session()
    cid = str(uuid.uuid4())
    ws = None
    while not STOP.is_set():
        try:
            if ws is None:
                ws = websocket.create_connection(f"{ws_url}/ws?clientId={cid}", timeout=600)
            layer = rng.choice(layers)
            body = {"client_id": cid, "prompt": {
                "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
                "2": {"class_type": "LTVisualizeWeights", "inputs": {
                    "model": ["1", 0], "layer_name": layer, "num_filters": rng.choice([4, 16, 64]),
                    "visualization_mode": rng.choice(["weights", "expanded", "both"]),
                    "max_side": rng.choice([512, 1024])}}}}
            r = session.post(url + "/prompt", json=body, timeout=60)
            if r.status_code != 200:
                note_error(f"POST /prompt {r.status_code} {r.text[:200]}")
                continue
            pid = r.json()["prompt_id"]
            with LOCK:
                STATS["queued"][pid] = layer
            action = rng.random()
            if action < 0.125:
                d = session.post(url + "/queue", json={"delete": [pid]}, timeout=30)
                q = session.get(url + "/queue", timeout=30).json()
                pending = {item[1] for item in q["queue_pending"]} | {item[1] for item in q["queue_running"]}
                if d.status_code == 200 and pid not in pending:
                    with LOCK:
                        STATS["cancelled"].add(pid)
            elif action < 0.25:
                time.sleep(rng.uniform(0.05, 1.5))
                session.post(url + "/interrupt", json={"prompt_id": pid}, timeout=30)
                with LOCK:
                    STATS["interrupts"] += 1
            # Wait for this prompt's end on the socket (or its disappearance when cancelled).
            deadline = time.time() + 600
            while time.time() < deadline and not STOP.is_set():
                with LOCK:
                    if pid in STATS["cancelled"]:
                        break
                ws.settimeout(5)
                try:
                    m = ws.recv()
                except websocket.WebSocketTimeoutException:
                    continue
                if not isinstance(m, str):
                    continue
                m = json.loads(m)
                data = m.get("data", {})
                if data.get("prompt_id") != pid:
                    continue
                if (m["type"] == "executing" and data.get("node") is None) or m["type"] in (
                        "execution_error", "execution_interrupted", "execution_success"):
                    # Its history record is the proof that it finished (checked here, because the
                    # history pruner below deletes confirmed records to keep the server's history small).
                    for _ in range(50):
                        if pid in session.get(f"{url}/history/{pid}", timeout=30).json():
                            with LOCK:
                                STATS["finished"].add(pid)
                            break
                        time.sleep(0.1)
                    break
        except Exception as e:  # noqa: BLE001 - a soak records what broke and goes on
            note_error(f"prompt client: {e!r}")
            try:
                ws and ws.close()
            except Exception:  # noqa: BLE001
                pass
            ws = None
            time.sleep(1)
    if ws:
        ws.close()


def viewer(url, seed):
    rng = random.Random(seed)
    session = requests.Session()
    while not STOP.is_set():
        try:
            hist = session.get(url + "/history?max_items=20", timeout=30).json()
            images = [img for rec in hist.values() for out in rec.get("outputs", {}).values()
                      for img in out.get("images", [])]
            if images:
                img = rng.choice(images)
                params = {"filename": img["filename"], "subfolder": img.get("subfolder", ""), "type": img["type"]}
                with session.get(url + "/view", params=params, stream=True, timeout=60) as r:
                    got = 0
                    mode = rng.random()
                    for chunk in r.iter_content(4096):
                        got += len(chunk)
                        if mode < 0.2:
                            time.sleep(0.05)      # a slow reader
                        if mode < 0.3 and got > 16384:
                            break                 # gives up half way
                with LOCK:
                    STATS["views"] += 1
                    STATS["view_bytes"] += got
            if rng.random() < 0.3:
                session.get(url + "/object_info", timeout=60).raise_for_status()
                with LOCK:
                    STATS["object_info"] += 1
        except Exception as e:  # noqa: BLE001
            note_error(f"viewer: {e!r}")
        time.sleep(rng.uniform(0.2, 1.0))


def slow_reader(port):
    while not STOP.is_set():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(b"GET /object_info HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            end = time.time() + 20
            while time.time() < end and not STOP.is_set():
                if not s.recv(16):
                    break
                time.sleep(1)
            s.close()
            with LOCK:
                STATS["slow_reads"] += 1
        except Exception as e:  # noqa: BLE001
            note_error(f"slow reader: {e!r}")
            time.sleep(1)


def stalled_ws(port):
    while not STOP.is_set():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall((f"GET /ws?clientId={uuid.uuid4()} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n").encode())
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            with LOCK:
                STATS["stalled_ws"] += 1
            STOP.wait(60)            # never reads: the server must drop or bound it, not buffer forever
            s.close()
        except Exception as e:  # noqa: BLE001
            note_error(f"stalled ws: {e!r}")
            time.sleep(1)


def history_pruner(url, every):
    """Deletes the history records the clients already confirmed, so the server's history (kept up
    to 10,000 records by design, like ComfyUI's) does not read as a leak in the RSS trend."""
    session = requests.Session()
    while not STOP.wait(every):
        with LOCK:
            ids = sorted(STATS["finished"] - STATS["pruned"])
        if ids:
            try:
                session.post(url + "/history", json={"delete": ids}, timeout=60).raise_for_status()
                with LOCK:
                    STATS["pruned"].update(ids)
            except Exception as e:  # noqa: BLE001
                note_error(f"history pruner: {e!r}")


def probe(url):
    session = requests.Session()
    while not STOP.is_set():
        t0 = time.perf_counter()
        try:
            session.get(url + "/queue", timeout=30).raise_for_status()
            with LOCK:
                LATENCY.append((time.perf_counter() - t0) * 1000)
        except Exception as e:  # noqa: BLE001
            note_error(f"probe: {e!r}")
        time.sleep(0.5)


def sample(pid, temp):
    # RssAnon: the server's own memory. The checkpoint is mapped read-only, so total RSS also counts
    # its pages as layers are touched (file-backed, up to the file's size, reclaimable): reported
    # beside, not judged.
    with open(f"/proc/{pid}/status") as f:
        fields = {l.split(":")[0]: int(l.split()[1]) / 1024 for l in f if l.startswith(("VmRSS:", "RssAnon:"))}
    rss, total = fields["RssAnon"], fields["VmRSS"]
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    size, files = 0, 0
    for root, _, names in os.walk(temp):
        for n in names:
            try:
                size += os.path.getsize(os.path.join(root, n))
                files += 1
            except OSError:
                pass
    return rss, fds, size / 1e6, files, total


def growing(values, slack):
    """True when the last third of the post-warm-up samples sits above the first third by more than slack."""
    if len(values) < 6:
        return False
    third = len(values) // 3
    return statistics.median(values[-third:]) > statistics.median(values[:third]) + slack


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--ws-clients", type=int, default=4)
    ap.add_argument("--slow-readers", type=int, default=3)
    ap.add_argument("--stalled", type=int, default=2)
    ap.add_argument("--keep-history", action="store_true",
                    help="do not delete confirmed history records (history then grows to its 10,000-record cap)")
    args = ap.parse_args()

    base = tempfile.mkdtemp(prefix="wl-soak-")
    os.makedirs(os.path.join(base, "models", "checkpoints"))
    ckpt = os.path.basename(args.checkpoint)
    os.symlink(os.path.abspath(args.checkpoint), os.path.join(base, "models", "checkpoints", ckpt))
    layers = layers_of(args.bin, args.checkpoint)
    proc, port = start_server(args.bin, base)
    url, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    temp = os.path.join(base, "temp")
    print(f"soak: {args.minutes:g} min, {len(layers)} layers of {ckpt} "
          f"({os.path.getsize(args.checkpoint) / 1e9:.2f} GB), server pid {proc.pid}, port {port}", flush=True)

    threads = [threading.Thread(target=prompt_client, args=(url, ws_url, ckpt, layers, i), daemon=True)
               for i in range(args.ws_clients)]
    threads += [threading.Thread(target=viewer, args=(url, 100 + i), daemon=True) for i in range(2)]
    threads += [threading.Thread(target=slow_reader, args=(port,), daemon=True) for _ in range(args.slow_readers)]
    threads += [threading.Thread(target=stalled_ws, args=(port,), daemon=True) for _ in range(args.stalled)]
    threads.append(threading.Thread(target=probe, args=(url,), daemon=True))
    if not args.keep_history:
        threads.append(threading.Thread(target=history_pruner, args=(url, 30), daemon=True))
    for t in threads:
        t.start()

    samples = []
    t0 = time.time()
    end = t0 + args.minutes * 60
    while time.time() < end and proc.poll() is None:
        time.sleep(min(10, max(0, end - time.time())))
        rss, fds, temp_mb, temp_files, total = sample(proc.pid, temp)
        samples.append((time.time() - t0, rss, fds, temp_mb, temp_files, total))
        with LOCK:
            q, c = len(STATS["queued"]), len(STATS["cancelled"])
        print(f"  t={samples[-1][0]:5.0f}s RSS {rss:7.1f} MB (with mapped file {total:7.1f})  fds {fds:4d}  temp {temp_mb:7.1f} MB / {temp_files} files"
              f"  queued {q}  cancelled {c}", flush=True)
    STOP.set()
    crashed = proc.poll() is not None

    # Drain: wait for the queue to empty, then account for every prompt.
    lost, finished = [], 0
    if not crashed:
        deadline = time.time() + 600
        while time.time() < deadline:
            q = requests.get(url + "/queue", timeout=30).json()
            if not q["queue_pending"] and not q["queue_running"]:
                break
            time.sleep(1)
        history = requests.get(url + "/history", timeout=60).json()
        with LOCK:
            queued, cancelled, confirmed = dict(STATS["queued"]), set(STATS["cancelled"]), set(STATS["finished"])
        for pid in queued:
            if pid in history or pid in confirmed:
                finished += 1
            elif pid not in cancelled:
                lost.append(pid)
        statuses = {}
        for pid in queued:
            if pid in history:
                s = history[pid]["status"]["status_str"]
                statuses[s] = statuses.get(s, 0) + 1
        print(f"history statuses (records still kept): {statuses}; confirmed by clients: {len(confirmed)}; "
              f"cancelled from the queue: {len(cancelled - set(history) - confirmed)}")
    else:
        queued = dict(STATS["queued"])
        lost = list(queued)
        print("!! the server exited during the soak: see " + os.path.join(base, "server.log"))

    warm = [s for s in samples if s[0] >= min(120, args.minutes * 60 / 4)]
    rss_grow = growing([s[1] for s in warm], max(32.0, 0.10 * (warm[0][1] if warm else 0)))
    fds_grow = growing([s[2] for s in warm], 8)
    with LOCK:
        lat = list(LATENCY)
        errors = list(STATS["errors"])
    print(f"load: {STATS['interrupts']} interrupts sent, {STATS['views']} /view downloads "
          f"({STATS['view_bytes'] / 1e6:.1f} MB), {STATS['object_info']} object_info, {STATS['slow_reads']} slow reads, "
          f"{STATS['stalled_ws']} stalled WebSocket clients")
    if samples:
        print(f"temp folder at the end: {samples[-1][3]:.1f} MB in {samples[-1][4]} files (max "
              f"{max(s[3] for s in samples):.1f} MB)")
    print(f"GET /queue latency beside the load: {len(lat)} samples, p50 {percentile(lat, 50):.1f} ms, "
          f"p99 {percentile(lat, 99):.1f} ms, max {max(lat) if lat else float('nan'):.1f} ms")
    if errors:
        print(f"client-side errors ({len(errors)} shown):")
        for e in errors[:20]:
            print("  " + e)
    if rss_grow:
        print("!! RSS kept growing after warm-up")
    if fds_grow:
        print("!! open file descriptors kept growing after warm-up")
    if not crashed:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    shutil.rmtree(base, ignore_errors=True)
    first, last = (samples[0], samples[-1]) if samples else ((0, 0, 0), (0, 0, 0))
    print(f"soak: {len(queued)} prompts, {finished} finished, {len(lost)} lost, "
          f"RSS {first[1]:.0f}→{last[1]:.0f} MB, fds {first[2]}→{last[2]}, p99 {percentile(lat, 99):.0f} ms")
    sys.exit(1 if lost or rss_grow or fds_grow or crashed else 0)


if __name__ == "__main__":
    main()
