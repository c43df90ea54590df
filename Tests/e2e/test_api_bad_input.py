"""Malformed prompts: 400 in ComfyUI's error format, nothing queued, and the server keeps serving."""
import pytest

from api_support import Server, list_prompt, visualize_prompt


@pytest.fixture(scope="module")
def server(weightlens_bin, tmp_path_factory):
    s = Server(weightlens_bin, tmp_path_factory.mktemp("bad"))
    yield s
    s.stop()


def assert_rejected(server, body, error_type=None):
    before = len(server.get("/history").json())
    r = server.post("/prompt", body)
    assert r.status_code == 400, r.text[:500]
    j = r.json()
    assert set(j) == {"error", "node_errors"}
    assert set(j["error"]) == {"type", "message", "details", "extra_info"}
    if error_type:
        assert j["error"]["type"] == error_type
    assert server.get("/queue").json() == {"queue_running": [], "queue_pending": []}
    assert len(server.get("/history").json()) == before
    return j


def test_unparseable_and_non_object_bodies(server):
    for body in [b"{", b"[]", b"\"x\"", b"", b"\xff\xfe", b"{\"prompt\": " + b"[" * 5000 + b"]" * 5000 + b"}"]:
        assert_rejected(server, body)
    assert_rejected(server, {}, "no_prompt")
    assert_rejected(server, {"prompt": {}}, "prompt_no_outputs")
    assert_rejected(server, {"prompt": "text"})


def test_transcript_validation_errors(server):
    ckpt = server.checkpoint()
    j = assert_rejected(server, {"prompt": {"9": {"class_type": "NoSuchNode", "inputs": {}}, **list_prompt(ckpt)}}, "invalid_prompt")
    assert j["error"]["details"] == "Node ID '#9'"
    p = visualize_prompt(ckpt, "x")
    del p["2"]["inputs"]["layer_name"]
    j = assert_rejected(server, {"prompt": p}, "prompt_outputs_failed_validation")
    assert j["node_errors"]["2"]["errors"][0]["type"] == "required_input_missing"
    assert j["node_errors"]["2"]["dependent_outputs"] == ["2"] and j["node_errors"]["2"]["class_type"] == "LTVisualizeWeights"
    j = assert_rejected(server, {"prompt": visualize_prompt(ckpt, "x", mode="rainbow")})
    assert j["node_errors"]["2"]["errors"][0]["type"] == "value_not_in_list"


@pytest.mark.parametrize("value,error", [
    (10**30, "value_bigger_than_max"), (-5, "value_smaller_than_min"), (2**64, "value_bigger_than_max"),
    ("abc", "invalid_input_type"), ([1, 2, 3], "bad_linked_input"), (1e308, "value_bigger_than_max"),
])
def test_wrong_types_and_out_of_range_numbers(server, value, error):
    p = visualize_prompt(server.checkpoint(), "x")
    p["2"]["inputs"]["num_filters"] = value
    j = assert_rejected(server, {"prompt": p})
    assert j["node_errors"]["2"]["errors"][0]["type"] == error


def test_cycles_and_self_links(server):
    ckpt = server.checkpoint()
    cycle = {
        "3": {"class_type": "LTListLayers", "inputs": {"model": ["1", 0], "filter": ["4", 0]}},
        "4": {"class_type": "LTListLayers", "inputs": {"model": ["1", 0], "filter": ["3", 0]}},
        "5": {"class_type": "ShowText|pysssss", "inputs": {"text": ["4", 0]}},
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
    }
    assert_rejected(server, {"prompt": cycle})
    self_link = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "3": {"class_type": "LTListLayers", "inputs": {"model": ["1", 0], "filter": ["3", 0]}},
        "4": {"class_type": "ShowText|pysssss", "inputs": {"text": ["3", 0]}},
    }
    assert_rejected(server, {"prompt": self_link})
    dangling = list_prompt(ckpt)
    dangling["3"]["inputs"]["model"] = ["99", 0]
    assert_rejected(server, {"prompt": dangling})
    bad_slot = list_prompt(ckpt)
    bad_slot["3"]["inputs"]["model"] = ["1", 7]
    assert_rejected(server, {"prompt": bad_slot})
    assert server.alive()


def test_ten_thousand_node_chain(server):
    ckpt = server.checkpoint()
    # A chain of 10 000 LTListLayers nodes whose filters link to the previous node's text, ending in a cycle
    # back to the first one, so the whole chain must be walked before the prompt is refused.
    prompt = {"0": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}}}
    n = 10_000
    for i in range(1, n + 1):
        prev = str(i - 1) if i > 1 else str(n)
        prompt[str(i)] = {"class_type": "LTListLayers", "inputs": {"model": ["0", 0], "filter": [prev, 0]}}
    prompt["out"] = {"class_type": "ShowText|pysssss", "inputs": {"text": [str(n), 0]}}
    assert_rejected(server, {"prompt": prompt})
    assert server.alive()


def test_huge_strings_nul_and_traversal_in_names(server):
    ckpt = server.checkpoint()
    for name in ["../../../../etc/passwd", "/etc/passwd", "a\u0000b.safetensors", "..", ckpt + "\u0000"]:
        j = assert_rejected(server, {"prompt": list_prompt(name)})
        assert j["node_errors"]["1"]["errors"][0]["type"] == "value_not_in_list"
    big = "x" * (10 * 1024 * 1024)
    assert_rejected(server, {"prompt": list_prompt(big)})
    # A 10 MB string where a STRING is allowed is valid: it runs and fails or succeeds, but never hangs.
    r = server.post("/prompt", {"prompt": visualize_prompt(ckpt, big)})
    assert r.status_code == 200
    record = server.wait_history(r.json()["prompt_id"], timeout=120)
    assert record["status"]["status_str"] in ("success", "error")
    weird = list_prompt(ckpt, "\u0000\u0001\u001f\u202e")
    weird["3\u0000"] = weird.pop("3")
    weird["4"]["inputs"]["text"] = ["3\u0000", 0]
    r = server.post("/prompt", {"prompt": weird})
    assert r.status_code in (200, 400)
    if r.status_code == 200:
        server.wait_history(r.json()["prompt_id"])
    assert server.alive()


def test_ui_workflow_garbage_is_400(server):
    assert_rejected(server, {"nodes": "x", "links": []})
    assert_rejected(server, {"nodes": [{"id": 1}], "links": [[1, 2]]})
    assert_rejected(server, {"prompt": {"nodes": [], "links": 5}})
