"""LTCompareModels through a real `weightlens serve`, over real sockets: two checkpoints written by
safetensors and torch (Tests/Fixtures/tools/make_compare_fixtures.py) compared in a queued prompt,
the report checked against numpy's values, progress per layer on the WebSocket, the chart fetched
through /view; a comparison of two synthetic SDXL files interrupted while it runs."""
import json
import os
import pathlib
import shutil
import subprocess

import pytest

from api_support import Server, collect_until_done, new_client_id
from png_support import decode

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOLS = ROOT / "Tests" / "Fixtures" / "tools"


@pytest.fixture(scope="module")
def server(weightlens_bin, tmp_path_factory):
    base = tmp_path_factory.mktemp("compare")
    checkpoints = base / "models" / "checkpoints"
    checkpoints.mkdir(parents=True)
    shutil.copy(TOOLS / "compare_a.safetensors", checkpoints)
    shutil.copy(TOOLS / "compare_b.pt", checkpoints)
    for seed in (1, 2):
        subprocess.run([weightlens_bin, "make-checkpoint", "--layout", "sdxl", "--scale", "8", "--parts", "unet",
                        "--seed", str(seed), "--out", str(checkpoints / f"sdxl_seed{seed}.safetensors")],
                       check=True, capture_output=True)
    s = Server(weightlens_bin, base)
    yield s
    s.stop()


def compare_prompt(a, b, metric, flt=""):
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": a}},
        "2": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": b}},
        "3": {"class_type": "LTCompareModels",
              "inputs": {"model_a": ["1", 0], "model_b": ["2", 0], "filter": flt, "metric": metric}},
    }


def test_report_matches_numpy_with_progress_per_layer_and_a_chart(server):
    expected = json.loads((TOOLS / "compare.expected.json").read_text())
    cid = new_client_id()
    ws, _ = server.connect(cid)
    r = server.post("/prompt", {"prompt": compare_prompt("compare_a.safetensors", "compare_b.pt", "delta_spectral_norm"),
                                "client_id": cid})
    assert r.status_code == 200, r.text
    pid = r.json()["prompt_id"]
    messages = collect_until_done(ws, pid)
    ws.close()
    entry = server.get(f"/history/{pid}").json()[pid]
    assert entry["status"]["status_str"] == "success", json.dumps(entry["status"]["messages"])[-2000:]

    report = json.loads(entry["outputs"]["3"]["text"][0])
    assert {e["name"] for e in report} == set(expected)
    compared = 0
    for e in report:
        want = expected[e["name"]]
        assert e["status"] == want["status"], e["name"]
        if want["status"] != "compared":
            assert e["relative_change"] is None and e["delta_l2"] is None
            continue
        compared += 1
        for key in ("relative_change", "cosine", "delta_l2", "delta_spectral_norm"):
            if want[key] is None:
                assert e[key] is None, (e["name"], key)
            else:
                assert e[key] == pytest.approx(want[key], rel=1e-6, abs=1e-9), (e["name"], key)
    assert {e["status"] for e in report} == {"compared", "only_in_a", "only_in_b", "shape_mismatch"}

    progress = [m["data"] for m in messages if m["type"] == "progress" and m["data"]["node"] == "3"]
    values = [p["value"] for p in progress]
    assert values == sorted(set(values)) and values[-1] == compared and len(values) >= compared // 2
    assert all(p["max"] == compared and p["prompt_id"] == pid for p in progress)

    ref = entry["outputs"]["3"]["images"][0]
    png = server.get(f"/view?filename={ref['filename']}&subfolder={ref['subfolder']}&type={ref['type']}").content
    width, height, _ = decode(png)
    assert width >= 720 and height > 500


def test_comparison_of_two_sdxl_files_is_interrupted_while_it_runs(server):
    cid = new_client_id()
    ws, _ = server.connect(cid)
    r = server.post("/prompt", {"prompt": compare_prompt("sdxl_seed1.safetensors", "sdxl_seed2.safetensors", "delta_spectral_norm"),
                                "client_id": cid})
    pid = r.json()["prompt_id"]
    # The first progress message of the comparison, then interrupt.
    while True:
        m = json.loads(ws.recv())
        if m["type"] == "progress" and m["data"]["node"] == "3":
            total = m["data"]["max"]
            break
    assert total > 500   # every weight of the U-Net, 1-D ones included
    assert server.post("/interrupt", "").status_code == 200
    messages = collect_until_done(ws, pid)
    ws.close()
    assert "execution_interrupted" in [m["type"] for m in messages]
    done = [m["data"]["value"] for m in messages if m["type"] == "progress" and m["data"]["node"] == "3"]
    assert not done or max(done) < total
    record = server.get(f"/history/{pid}").json()[pid]
    assert record["status"]["completed"] is False
    assert record["status"]["messages"][-1][0] == "execution_interrupted"
