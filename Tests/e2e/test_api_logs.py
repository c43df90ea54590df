"""PATCH /internal/logs/subscribe and WebSocket `logs` messages against a real `weightlens serve`."""
import json
import time

import pytest
import requests

from api_support import Server, collect_until_done, list_prompt, new_client_id


@pytest.fixture(scope="module")
def server(weightlens_bin, tmp_path_factory):
    s = Server(weightlens_bin, tmp_path_factory.mktemp("logs"))
    yield s
    s.stop()


def patch(server, body):
    return requests.patch(server.url + "/internal/logs/subscribe", data=body, timeout=30)


def test_subscribed_socket_receives_the_servers_log_lines(server):
    mine, other = new_client_id(), new_client_id()
    ws, _ = server.connect(mine)
    ws_other, _ = server.connect(other)
    assert patch(server, json.dumps({"clientId": mine, "enabled": True})).status_code == 200
    r = server.post("/prompt", {"prompt": list_prompt(server.checkpoint()), "client_id": mine})
    prompt_id = r.json()["prompt_id"]
    messages = collect_until_done(ws, prompt_id)
    # The "executed in" line is logged right after the final executing message: read on for it.
    deadline = time.time() + 30
    while not any("executed in" in e["m"] for m in messages if m["type"] == "logs" for e in m["data"]["entries"]):
        assert time.time() < deadline, [m["type"] for m in messages]
        ws.settimeout(max(0.1, deadline - time.time()))
        messages.append(json.loads(ws.recv()))
    logs = [m["data"] for m in messages if m["type"] == "logs"]
    assert all(list(d) == ["entries", "size"] and d["size"] == {"cols": 80, "rows": 24} for d in logs)
    lines = [e["m"] for d in logs for e in d["entries"]]
    # ComfyUI's terminal lines (with --verbose the prompt id follows "got prompt").
    assert "got prompt\n" in lines or f"got prompt {prompt_id}\n" in lines
    assert any(line.startswith("Prompt executed in ") and line.endswith(" seconds\n") for line in lines), lines
    assert all(set(e) == {"t", "m"} for d in logs for e in d["entries"])
    # /internal/logs/raw holds the same entries.
    raw = server.get("/internal/logs/raw").json()["entries"]
    assert [e for d in logs for e in d["entries"]] == raw[-len(lines):]

    # The other socket never subscribed; after unsubscribing, this one gets no more logs either.
    assert patch(server, json.dumps({"clientId": mine, "enabled": False})).status_code == 200
    r = server.post("/prompt", {"prompt": list_prompt(server.checkpoint()), "client_id": mine})
    later = collect_until_done(ws, r.json()["prompt_id"])
    server.wait_history(r.json()["prompt_id"])
    assert "logs" not in [m["type"] for m in later]
    ws_other.settimeout(0.5)
    other_types = []
    try:
        while True:
            other_types.append(json.loads(ws_other.recv())["type"])
    except Exception:
        pass
    assert "logs" not in other_types
    ws.close()
    ws_other.close()


@pytest.mark.parametrize("body", ["", "{}", '{"clientId": "x"}', '{"enabled": true}', "not json"])
def test_malformed_subscriptions_are_refused(server, body):
    r = patch(server, body)
    assert r.status_code == 400 and "clientId" in r.json()["error"]


def test_terminal_prints_comfyui_like_lines(weightlens_bin, tmp_path):
    """The server's terminal: `got prompt`, errors with node id and class, `Prompt executed in X
    seconds`, a refused prompt with its node; no prompt ids without --verbose."""
    from api_support import visualize_prompt
    s = Server(weightlens_bin, tmp_path)
    try:
        ckpt = s.get("/models/checkpoints").json()[0]
        r = s.post("/prompt", {"prompt": visualize_prompt(ckpt, "input_blocks.1.0.in_layers.22")})
        s.wait_history(r.json()["prompt_id"])
        bad = visualize_prompt(ckpt, "x", mode="bogus")
        assert s.post("/prompt", {"prompt": bad}).status_code == 400
        deadline = time.time() + 10
        while not any("invalid prompt" in line for line in s.terminal):
            assert time.time() < deadline, s.terminal
            time.sleep(0.1)
        text = "".join(s.terminal)
        assert "got prompt\n" in text and r.json()["prompt_id"] not in text, text
        assert ("!!! Exception during processing !!! Node 2 (LTVisualizeWeights): ValueError: "
                "No layer named 'input_blocks.1.0.in_layers.22'; closest: input_blocks.1.0.in_layers.2") in text, text
        assert any(line.startswith("Prompt executed in ") and line.endswith(" seconds\n") for line in s.terminal), text
        assert "Failed to validate prompt for output 2:\n* LTVisualizeWeights 2:\n  - Value not in list: visualization_mode" in text, text
    finally:
        s.stop()
