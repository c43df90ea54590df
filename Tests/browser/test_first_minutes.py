"""A newcomer's first minutes in the official ComfyUI frontend: every UI workflow of workflows/
(those added later too) is loaded, run, and checked for overlapping nodes before and after Run,
with the nodes' boxes read from the frontend's graph. Screenshots: out/browser/first-minutes-*.png."""
import json
import time
import urllib.parse

import requests
from selenium.webdriver.common.by import By

from browserkit import ARTIFACTS, ROOT, our_console_errors, post_json, same_origin_problems

APP_READY = """return !!(window.app && window.app.graph && window.app.canvas && window.LiteGraph
    && window.LiteGraph.registered_node_types['LTVisualizeWeights'])"""

NODES = "(window.app.graph._nodes ?? window.app.graph.nodes)"

# Every node's box on the canvas, title bar included, as the frontend's graph has it.
BOXES = f"""
const title = window.LiteGraph.NODE_TITLE_HEIGHT ?? 30;
return {NODES}.map(n => {{
    const collapsed = !!n.flags?.collapsed;
    return {{id: n.id, type: n.type, x: n.pos[0], y: n.pos[1] - title,
             w: collapsed ? (n._collapsed_width ?? 100) : n.size[0], h: (collapsed ? 0 : n.size[1]) + title}};
}});"""

VISUALIZER = f"{NODES}.find(n => n.type === 'LTVisualizeWeights')"

PREVIEW = f"""
const node = {VISUALIZER};
const img = node.imgs?.[0];
if (!img || img.src === arguments[0] || !img.complete || img.naturalWidth === 0) return null;
return {{src: img.src, width: img.naturalWidth, height: img.naturalHeight,
         nodeWidth: node.size[0], nodeHeight: node.size[1], scale: window.app.canvas.ds.scale}};"""


def overlapping(boxes):
    """Pairs of node ids whose boxes intersect."""
    pairs = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]:
                pairs.append((a["type"], a["id"], b["type"], b["id"]))
    return pairs


def assert_no_overlap(driver, when):
    boxes = driver.execute_script(BOXES)
    assert boxes, f"no nodes {when}"
    assert overlapping(boxes) == [], f"nodes overlap {when}: {overlapping(boxes)} in {boxes}"
    return boxes


def settle(browser, seconds=3.5):
    """Waits until the nodes' boxes stop changing (sizes change as previews load)."""
    last = None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        time.sleep(seconds / 3)
        boxes = browser.driver.execute_script(BOXES)
        if boxes == last:
            return
        last = boxes


def shot(driver, step):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"first-minutes-{step}.png"))


def fit_view(driver):
    """Fits every node on screen (the frontend's own "fit view")."""
    driver.execute_script("""const c = window.app.canvas;
        (c.fitViewToSelectionAnimated ?? c.fitViewToSelection)?.call(c);
        if (!c.fitViewToSelection) c.ds.scale = 0.7;
        c.setDirty(true, true);""")
    time.sleep(0.8)


def run(driver):
    driver.find_element(By.XPATH, "//button[normalize-space(.)='Run']").click()


def text_rows(browser, node_type, timeout=60):
    return browser.wait_for(f"""return [...document.querySelectorAll(
        '.weightlens-text[data-node-type="{node_type}"] .wl-row')].map(r => r.dataset.layer)""",
                            timeout, f"the layer list on {node_type}")


def ui_workflows():
    for path in sorted((ROOT / "workflows").glob("*.json")):
        workflow = json.loads(path.read_text())
        if isinstance(workflow, dict) and isinstance(workflow.get("nodes"), list):
            yield path


def test_no_workflow_has_overlapping_nodes_before_or_after_run(frontend_server, browser):
    base = frontend_server
    driver = browser.driver
    post_json(f"{base}/api/settings/Comfy.TutorialCompleted", True)
    driver.get(base + "/")
    browser.wait_for(APP_READY, 90, "the ComfyUI app")
    checked = []
    for path in ui_workflows():
        workflow = json.loads(path.read_text())
        driver.execute_script("window.app.loadGraphData(arguments[0], true, true, arguments[1]); return null",
                              workflow, path.stem)
        browser.wait_for(f"return {NODES}.length === arguments[0]", 20, f"{path.name} loaded", 0.25,
                         len(workflow["nodes"]))
        settle(browser)
        assert_no_overlap(driver, f"in {path.name} as loaded")
        # A file may name a checkpoint this server lacks (the original names SDXL base): pick a listed one.
        driver.execute_script(f"""for (const n of {NODES}.filter(n => n.type === 'CheckpointLoaderSimple')) {{
            const w = n.widgets.find(w => w.name === 'ckpt_name');
            if (!w.options.values.includes(w.value)) {{ w.value = w.options.values[0]; w.callback?.(w.value); }}
        }}""")
        browser.collect_logs()
        finished = ("execution_success", "execution_error")
        before = len([m for m in browser.socket_messages if m.get("type") in finished])
        run(driver)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            browser.collect_logs()
            done = [m for m in browser.socket_messages if m.get("type") in finished]
            if len(done) > before:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"{path.name} did not finish")
        settle(browser)
        assert_no_overlap(driver, f"in {path.name} after Run")
        checked.append(path.name)
        fit_view(driver)
        shot(driver, f"layout-{path.stem}")
    assert "workflow_weight_visualization.json" in checked and len(checked) >= 5, checked
