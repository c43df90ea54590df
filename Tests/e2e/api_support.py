"""Helpers for the API end-to-end tests: start `weightlens serve --port 0`, talk HTTP and WebSocket."""
import json
import os
import re
import subprocess
import threading
import time
import uuid

import requests
import websocket

URL_LINE = re.compile(r"(https?)://([^\s/]+):(\d+)")


class Server:
    """A `weightlens serve` subprocess on a free port with its own base directory."""

    def __init__(self, binary, base_dir, extra_args=()):
        self.base_dir = str(base_dir)
        self.proc = subprocess.Popen(
            [binary, "serve", "--port", "0", "--base-directory", self.base_dir, *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.url = None
        deadline = time.time() + 60
        lines = []
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = URL_LINE.search(line)
            if m:
                self.url = f"{m.group(1)}://{m.group(2)}:{m.group(3)}"
                self.ws_url = f"{'wss' if m.group(1) == 'https' else 'ws'}://{m.group(2)}:{m.group(3)}"
                break
        if self.url is None:
            self.proc.kill()
            raise RuntimeError("server did not print its URL: " + "".join(lines) + self.proc.stderr.read())
        # Keep draining stderr so a chatty server never blocks on a full pipe; keep its lines
        # (the terminal log) for the tests that read them.
        self.terminal = []

        def drain():
            for line in self.proc.stderr:
                self.terminal.append(line)

        threading.Thread(target=drain, daemon=True).start()
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def get(self, path, **kw):
        kw.setdefault("timeout", 30)
        return requests.get(self.url + path, **kw)

    def post(self, path, body=None, **kw):
        kw.setdefault("timeout", 60)
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        return requests.post(self.url + path, data=body, **kw)

    def alive(self):
        return self.proc.poll() is None and self.get("/queue").status_code == 200

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def checkpoint(self):
        names = self.get("/models/checkpoints").json()
        assert names, "no checkpoint (the demo checkpoint should have been written)"
        return names[0]

    def connect(self, client_id=None):
        url = self.ws_url + "/ws" + (f"?clientId={client_id}" if client_id else "")
        ws = websocket.create_connection(url, timeout=30)
        first = json.loads(ws.recv())
        return ws, first

    def wait_history(self, prompt_id, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            h = self.get(f"/history/{prompt_id}").json()
            if prompt_id in h:
                return h[prompt_id]
            time.sleep(0.05)
        raise AssertionError(f"prompt {prompt_id} did not finish in {timeout}s")


def collect_until_done(ws, prompt_id, timeout=120):
    """Text messages until `executing` with node null for `prompt_id` (inclusive)."""
    messages = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        ws.settimeout(max(0.1, deadline - time.time()))
        frame = ws.recv()
        if isinstance(frame, bytes):
            messages.append({"type": "<binary>", "data": None})
            continue
        m = json.loads(frame)
        messages.append(m)
        d = m.get("data") or {}
        if m["type"] == "executing" and d.get("node") is None and d.get("prompt_id") == prompt_id:
            return messages
    raise AssertionError(f"no final executing message for {prompt_id}: {[m['type'] for m in messages]}")


def new_client_id():
    return str(uuid.uuid4())


def list_prompt(ckpt, flt="conv"):
    """Checkpoint → LTListLayers → ShowText, the benchmark's first prompt."""
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "3": {"class_type": "LTListLayers", "inputs": {"model": ["1", 0], "filter": flt}},
        "4": {"class_type": "ShowText|pysssss", "inputs": {"text": ["3", 0]}},
    }


def visualize_prompt(ckpt, layer, mode="both", num_filters=16, node="2"):
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        node: {"class_type": "LTVisualizeWeights",
               "inputs": {"model": ["1", 0], "layer_name": layer, "num_filters": num_filters, "visualization_mode": mode}},
    }


def run_prompt(server, prompt):
    """Queues an API-format prompt on its own WebSocket client, waits for it to finish and
    returns its history entry."""
    cid = new_client_id()
    ws, _ = server.connect(cid)
    r = server.post("/prompt", {"prompt": prompt, "client_id": cid})
    assert r.status_code == 200, r.text
    pid = r.json()["prompt_id"]
    collect_until_done(ws, pid)
    ws.close()
    return server.wait_history(pid)
