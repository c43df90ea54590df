"""The analysis nodes in the official frontend: workflows/weight_nmf_demo.json (LTWeightNMF →
SaveImage) dropped onto the canvas and run. The NMF picture arrives on the SaveImage node from
/view (type output) and draws data; the saved PNG carries the prompt and the workflow; the NMF
report is shown on its node as a table (the web extension), not as raw JSON."""
import json
import struct
import zlib

import requests
from selenium.webdriver.common.by import By

from browserkit import NODE_PICTURE, ROOT, our_console_errors, post_json, same_origin_problems
from test_comfyui_frontend import APP_READY, DROP_FILE

WORKFLOW = ROOT / "workflows" / "weight_nmf_demo.json"
NODE = "(window.app.graph._nodes ?? window.app.graph.nodes).find(n => n.type === arguments[0])"


def png_chunks(data):
    """(width, height, {tEXt keyword: text}) of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, texts, size = 8, {}, None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            texts[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            texts[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        pos += 12 + length
    return size[0], size[1], texts


def test_nmf_workflow_runs_saves_and_shows_its_report(frontend_server, browser):
    base = frontend_server
    driver = browser.driver
    post_json(f"{base}/api/settings/Comfy.TutorialCompleted", True)
    driver.get(base + "/")
    browser.wait_for(APP_READY + " && !!window.LiteGraph.registered_node_types['LTWeightNMF']", 90,
                     "the ComfyUI app with LTWeightNMF")

    workflow = json.loads(WORKFLOW.read_text())
    driver.execute_script(DROP_FILE, WORKFLOW.name, json.dumps(workflow))
    browser.wait_for("""const nodes = window.app.graph._nodes ?? window.app.graph.nodes;
        return nodes.length === 3 && nodes.some(n => n.type === 'LTWeightNMF') && nodes.some(n => n.type === 'SaveImage')""",
                     20, "the NMF workflow's three nodes")
    checkpoint = driver.execute_script(f"""
        const widget = {NODE.replace('arguments[0]', "'CheckpointLoaderSimple'")}.widgets.find(w => w.name === 'ckpt_name');
        return widget.options.values.includes(widget.value) ? widget.value : null""")
    assert checkpoint, "the workflow names a checkpoint the server does not list"

    driver.find_element(By.XPATH, "//button[normalize-space(.)='Run']").click()

    # The saved picture on the SaveImage node, loaded from /view with type=output, draws data.
    saved = browser.wait_for(NODE_PICTURE, 120, "the saved NMF picture on SaveImage", 0.5, "SaveImage", None)
    assert "type=output" in saved["src"] and "nmf_" in saved["src"], saved
    assert saved["width"] > 200 and saved["height"] > 200 and saved["colours"] > 20, saved

    # The file itself: output/weightlens/nmf_NNNNN_.png with the prompt and the workflow embedded.
    query = saved["src"].split("?", 1)[1]
    png = requests.get(f"{base}/api/view?{query}", timeout=30)
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    width, height, texts = png_chunks(png.content)
    assert (width, height) == (saved["width"], saved["height"])
    prompt = json.loads(texts["prompt"])
    assert {n["class_type"] for n in prompt.values()} == {"CheckpointLoaderSimple", "LTWeightNMF", "SaveImage"}
    assert any(n.get("type") == "LTWeightNMF" for n in json.loads(texts["workflow"])["nodes"])

    # The NMF report as a table on the LTWeightNMF node.
    table = browser.wait_for("""
        const rows = [...document.querySelectorAll('.weightlens-text[data-node-type="LTWeightNMF"] table.wl-report tr')];
        return rows.length > 0 ? rows.map(r => [...r.children].map(c => c.textContent)) : null""",
                             30, "the NMF report table on the node")
    fields = {row[0]: row[1] for row in table if len(row) == 2}
    assert fields["layer"] == workflow["nodes"][1]["widgets_values"][0] and fields["rank"] == "3", fields
    assert 0 <= float(fields["relative_error"]) < 1, fields

    console, network = browser.collect_logs()
    assert same_origin_problems(base, network) == []
    assert our_console_errors(base, console) == []
