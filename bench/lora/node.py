#!/usr/bin/env python3
"""LTLoraInspect through the ComfyUI API, as a client sees it (issue 13's figure is for the node).

Starts `weightlens serve` on a free loopback port with a throwaway base directory whose
models/loras holds RUNS links to the LoRA under different names (a prompt whose inputs did not
change would be answered from the executor's cache), queues a prompt of the node alone for each
name and times it from POST /prompt until its /history record appears. Prints each run and the
best and median. Usage: node.py WEIGHTLENS_BIN LORA [RUNS]
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    binary, lora = sys.argv[1], os.path.abspath(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    with tempfile.TemporaryDirectory() as base:
        loras = os.path.join(base, "models", "loras")
        os.makedirs(loras)
        names = [f"run{i}.safetensors" for i in range(runs)]
        for name in names:
            os.symlink(lora, os.path.join(loras, name))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([binary, "serve", "--port", str(port), "--base-directory", base],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(url + "/system_stats", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                sys.exit("the server did not start")
            times = []
            for i, name in enumerate(names):
                body = {"prompt": {"1": {"class_type": "LTLoraInspect", "inputs": {"lora_name": name}}}, "client_id": "bench"}
                request = urllib.request.Request(url + "/prompt", data=json.dumps(body).encode(),
                                                 headers={"Content-Type": "application/json"})
                start = time.perf_counter()
                prompt_id = json.load(urllib.request.urlopen(request))["prompt_id"]
                while True:
                    history = json.load(urllib.request.urlopen(f"{url}/history/{prompt_id}"))
                    if prompt_id in history:
                        break
                    time.sleep(0.005)
                elapsed = time.perf_counter() - start
                status = history[prompt_id].get("status", {}).get("status_str")
                if status != "success":
                    sys.exit(f"run {i + 1}: prompt ended with {status}")
                times.append(elapsed)
                print(f"LTLoraInspect run {i + 1}: {elapsed:.2f} s")
            print(f"LTLoraInspect through the API: best {min(times):.2f} s, median {statistics.median(times):.2f} s "
                  f"({runs} prompts; target <= 2 s)")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
