"""Running prompts end to end: WebSocket event order, history, caching, interrupt, jobs, queue."""
import json
import pathlib
import time

import pytest

from api_support import Server, collect_until_done, list_prompt, new_client_id, visualize_prompt

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAYER = "input_blocks.4.1.transformer_blocks.0.attn1.to_q"


@pytest.fixture(scope="module")
def server(weightlens_bin, tmp_path_factory):
    s = Server(weightlens_bin, tmp_path_factory.mktemp("prompts"))
    yield s
    s.stop()


def types(messages):
    return [m["type"] for m in messages]


def test_prompt_events_history_and_cached_resubmit(server):
    ckpt = server.checkpoint()
    cid = new_client_id()
    ws, _ = server.connect(cid)
    other, _ = server.connect(new_client_id())
    prompt = {**list_prompt(ckpt), **visualize_prompt(ckpt, LAYER, mode="weights")}
    r = server.post("/prompt", {"prompt": prompt, "client_id": cid})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["prompt_id", "number", "node_errors"] and body["node_errors"] == {}
    pid = body["prompt_id"]
    msgs = collect_until_done(ws, pid)
    t = types(msgs)
    # ComfyUI's order: status (queued), status (started), execution_start, execution_cached, …,
    # execution_success, status (idle), executing null.
    assert t[0] == "status" and "execution_start" in t
    assert t.index("execution_start") < t.index("execution_cached") < t.index("execution_success")
    assert t[-3:] == ["execution_success", "status", "executing"]
    assert msgs[-2]["data"] == {"status": {"exec_info": {"queue_remaining": 0}}}
    assert msgs[-1]["data"] == {"node": None, "prompt_id": pid}
    executed = {m["data"]["node"]: m["data"] for m in msgs if m["type"] == "executed"}
    assert set(executed) == {"2", "4"}
    assert list(executed["4"]) == ["node", "display_node", "output", "prompt_id"]
    images = executed["2"]["output"]["images"]
    assert images and all(set(i) == {"filename", "subfolder", "type"} for i in images)
    for img in images:
        v = server.get(f"/api/view?filename={img['filename']}&subfolder={img['subfolder']}&type={img['type']}&rand=0.3")
        assert v.status_code == 200 and v.headers["Content-Type"] == "image/png" and v.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert v.headers["Content-Disposition"] == f'filename="{img["filename"]}"'
    # Run events go to the prompt's client only; queue status goes to everyone.
    other.settimeout(1)
    seen = []
    try:
        while True:
            seen.append(json.loads(other.recv())["type"])
    except Exception:
        pass
    assert "status" in seen and "execution_start" not in seen and "executed" not in seen
    other.close()

    record = server.get(f"/history/{pid}").json()[pid]
    assert list(record) == ["prompt", "outputs", "status", "meta"]
    assert len(record["prompt"]) == 5 and record["prompt"][1] == pid and record["prompt"][3]["client_id"] == cid
    assert isinstance(record["prompt"][3]["create_time"], int)
    assert sorted(record["prompt"][4]) == ["2", "4"]
    assert record["status"]["status_str"] == "success" and record["status"]["completed"] is True
    assert [m[0] for m in record["status"]["messages"]] == ["execution_start", "execution_cached", "execution_success"]
    assert set(record["outputs"]) == {"2", "4"} and all(isinstance(v, list) for o in record["outputs"].values() for v in o.values())
    assert record["meta"]["4"] == {"node_id": "4", "display_node": "4", "parent_node": None, "real_node_id": "4"}

    # The same prompt again: everything cached, output nodes re-send `executed`.
    r2 = server.post("/prompt", {"prompt": prompt, "client_id": cid}).json()
    assert r2["number"] > body["number"]
    msgs2 = collect_until_done(ws, r2["prompt_id"])
    cached = next(m for m in msgs2 if m["type"] == "execution_cached")["data"]["nodes"]
    assert sorted(cached) == ["1", "2", "3", "4"]
    assert sorted(m["data"]["node"] for m in msgs2 if m["type"] == "executed") == ["2", "4"]
    assert not [m for m in msgs2 if m["type"] == "executing" and m["data"]["node"] is not None]
    ws.close()

    # Jobs view of the history.
    jobs = server.get("/api/jobs?status=completed,failed,cancelled&limit=64&offset=0").json()
    ids = [j["id"] for j in jobs["jobs"]]
    assert pid in ids and r2["prompt_id"] in ids
    job = next(j for j in jobs["jobs"] if j["id"] == pid)
    assert job["status"] == "completed" and isinstance(job["create_time"], int)
    assert job["preview_output"]["filename"] == images[0]["filename"]
    detail = server.get(f"/api/jobs/{pid}").json()
    assert detail["outputs"] == record["outputs"] and detail["workflow"]["prompt"] == record["prompt"][2]


def test_history_max_items_delete_and_clear(server):
    ckpt = server.checkpoint()
    ids = [server.post("/prompt", {"prompt": list_prompt(ckpt, f"f{i}")}).json()["prompt_id"] for i in range(3)]
    for pid in ids:
        server.wait_history(pid)
    newest = server.get("/history?max_items=2").json()
    assert list(newest)[-2:] == ids[1:]
    assert len(newest) == 2
    server.post("/history", {"delete": [ids[0]]})
    assert server.get(f"/history/{ids[0]}").json() == {}
    server.post("/api/history", {"clear": True})
    assert server.get("/history").json() == {}


def test_execution_error_is_recorded_and_server_keeps_serving(server):
    ckpt = server.checkpoint()
    cid = new_client_id()
    ws, _ = server.connect(cid)
    pid = server.post("/prompt", {"prompt": visualize_prompt(ckpt, "no.such.layer"), "client_id": cid}).json()["prompt_id"]
    msgs = collect_until_done(ws, pid)
    err = next(m for m in msgs if m["type"] == "execution_error")["data"]
    for key in ["prompt_id", "node_id", "node_type", "executed", "exception_message", "exception_type", "traceback",
                "current_inputs", "current_outputs", "timestamp"]:
        assert key in err
    assert err["node_id"] == "2" and err["node_type"] == "LTVisualizeWeights"
    record = server.get(f"/history/{pid}").json()[pid]
    assert record["status"]["status_str"] == "error" and record["status"]["completed"] is False
    job = server.get(f"/api/jobs/{pid}").json()
    assert job["status"] == "failed" and job["execution_error"]["node_id"] == "2"
    assert server.alive()
    ws.close()


def test_interrupt_stops_the_running_prompt(server):
    ckpt = server.checkpoint()
    cid = new_client_id()
    ws, _ = server.connect(cid)
    layers = server.post("/prompt", {"prompt": list_prompt(ckpt, ""), "client_id": cid}).json()["prompt_id"]
    collect_until_done(ws, layers)
    names = server.get(f"/history/{layers}").json()[layers]["outputs"]["4"]["text"][0].split("\n")
    weights = [n for n in names if n.endswith(("conv", "proj_in", "to_q", "to_k", "to_v", "in_layers.2", "out_layers.3"))][:120]
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}}}
    for i, name in enumerate(weights):
        prompt[str(100 + i)] = {"class_type": "LTVisualizeWeights",
                                "inputs": {"model": ["1", 0], "layer_name": name, "num_filters": 256, "visualization_mode": "both"}}
    pid = server.post("/prompt", {"prompt": prompt, "client_id": cid}).json()["prompt_id"]
    pending = server.post("/prompt", {"prompt": list_prompt(ckpt, "pending"), "client_id": cid}).json()["prompt_id"]
    q = server.get("/queue").json()
    assert [item[1] for item in q["queue_pending"]][-1] == pending
    assert all(len(item) == 5 for item in q["queue_running"] + q["queue_pending"])
    assert server.post("/queue", {"delete": [pending]}).status_code == 200
    # Wait for the first executed node, then interrupt.
    while True:
        m = json.loads(ws.recv())
        if m["type"] == "executing" and m["data"].get("node") not in (None, "1"):
            break
    assert server.post("/interrupt", "").status_code == 200
    msgs = collect_until_done(ws, pid)
    assert "execution_interrupted" in types(msgs)
    record = server.get(f"/history/{pid}").json()[pid]
    assert record["status"]["completed"] is False
    assert record["status"]["messages"][-1][0] == "execution_interrupted"
    assert server.get(f"/api/jobs/{pid}").json()["status"] == "cancelled"
    assert server.get(f"/history/{pending}").json() == {}
    assert server.get("/queue").json() == {"queue_running": [], "queue_pending": []}
    ws.close()


def test_ui_workflow_is_converted_on_the_server(server):
    path = ROOT / "workflows" / "workflow_weight_visualization.json"
    if not path.exists():
        pytest.skip("workflows/workflow_weight_visualization.json is not in the repository")
    workflow = json.loads(path.read_text())
    ckpt = server.checkpoint()
    for node in workflow["nodes"]:
        if node["type"] == "CheckpointLoaderSimple":
            node["widgets_values"][0] = ckpt
    cid = new_client_id()
    ws, _ = server.connect(cid)
    r = server.post("/prompt", workflow)  # the whole UI file, as `curl -d @file` sends it
    assert r.status_code == 200, r.text
    r2 = server.post("/prompt", {"prompt": workflow, "client_id": cid})
    assert r2.status_code == 200, r2.text
    msgs = collect_until_done(ws, r2.json()["prompt_id"])
    assert "execution_success" in types(msgs) or "execution_error" in types(msgs)
    ws.close()


def test_workflows_are_served(server):
    path = ROOT / "workflows"
    names = sorted(p.name for p in path.glob("*.json")) if path.exists() else []
    if not names:
        pytest.skip("no workflows/ in the repository")
    r = server.get("/workflows/" + names[0])
    assert r.status_code == 200 and json.loads(r.content) == json.loads((path / names[0]).read_text())
    templates = server.get("/api/workflow_templates").json()
    assert names[0][:-5] in templates["weightlens"]
    assert server.get(f"/api/workflow_templates/weightlens/{names[0]}").status_code == 200
