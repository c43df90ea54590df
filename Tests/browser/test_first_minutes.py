"""A newcomer's first minutes in the official ComfyUI frontend, as the README tells them:
templates → demo → Run → click a layer → Run → open the full page, plus a typo in layer_name.
Checks what a person sees: no node covers another (bounding boxes read from the frontend's
graph), a node preview legible at its size, the full page one click away, the weight value
under the pointer in the viewer it links to (equal to the checkpoint's value at that index), the
error sentence on the node. Each step leaves a screenshot in out/browser/first-minutes-*.png.

A second test loads every UI workflow of workflows/ (those added later too), runs it and checks
again that no two nodes overlap, before and after Run."""
import json
import os
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
    """Zooms and pans the canvas so every node is on screen (at most 100 %)."""
    driver.execute_script(BOXES.replace("return ", "const boxes = ", 1) + """
        const c = window.app.canvas, el = c.canvas;
        const x0 = Math.min(...boxes.map(b => b.x)), y0 = Math.min(...boxes.map(b => b.y));
        const x1 = Math.max(...boxes.map(b => b.x + b.w)), y1 = Math.max(...boxes.map(b => b.y + b.h));
        const w = el.clientWidth - 120, h = el.clientHeight - 140;
        const scale = Math.min(1, w / (x1 - x0), h / (y1 - y0));
        c.ds.scale = scale;
        c.ds.offset = [-x0 + (el.clientWidth / scale - (x1 - x0)) / 2, -y0 + 100 / scale];
        c.setDirty(true, true);""")
    time.sleep(1)


def run(driver):
    driver.find_element(By.XPATH, "//button[normalize-space(.)='Run']").click()


def text_rows(browser, node_type, timeout=60):
    return browser.wait_for(f"""return [...document.querySelectorAll(
        '.weightlens-text[data-node-type="{node_type}"] .wl-row')].map(r => r.dataset.layer)""",
                            timeout, f"the layer list on {node_type}")


def test_readme_flow_templates_demo_run_click_run_open(frontend_server, frontend_base, browser):
    base = frontend_server
    driver = browser.driver
    post_json(f"{base}/api/settings/Comfy.TutorialCompleted", False)
    driver.get(base + "/")
    browser.wait_for(APP_READY, 90, "the ComfyUI app")

    # 1. Templates: the demo is the first card; every card has a description and its own thumbnail
    #    (drawn by scripts/make-pictures), and no workflow is offered twice.
    catalogue = requests.get(f"{base}/templates/index.json", timeout=10).json()
    templates = [t for category in catalogue for t in category["templates"]]
    assert templates[0]["name"] == "workflow_weight_visualization_demo", templates
    assert templates[1]["name"] == "workflow_weight_visualization_real_demo", templates
    names = [t["name"] for t in templates]
    assert len(names) == len(set(names)) >= 6 and "weightlens" not in requests.get(
        f"{base}/api/workflow_templates", timeout=10).json()
    thumbnails = set()
    for t in templates:
        assert t["description"] and t["title"] != t["name"], t
        picture = requests.get(f"{base}/templates/{t['name']}-1.{t['mediaSubtype']}", timeout=10)
        assert picture.status_code == 200 and picture.content[:8] == b"\x89PNG\r\n\x1a\n", t
        thumbnails.add(picture.content)
        assert isinstance(requests.get(f"{base}/templates/{t['name']}.json", timeout=10).json().get("nodes"), list)
    assert len(thumbnails) == len(templates), "two templates share a thumbnail"
    demo_title = templates[0]["title"]
    browser.wait_for("""return [...document.querySelectorAll('*')].some(e => e.offsetParent !== null
        && e.children.length === 0 && e.textContent.trim() === arguments[0])""", 30,
                     "the demo in the templates browser", 0.25, demo_title)
    # The first card the browser shows is the demo's.
    first = driver.execute_script("""const titles = new Set(arguments[0]);
        const shown = [...document.querySelectorAll('*')].filter(e => e.offsetParent !== null
            && e.children.length === 0 && titles.has(e.textContent.trim()));
        shown.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top
                             || a.getBoundingClientRect().left - b.getBoundingClientRect().left);
        return shown[0]?.textContent.trim() ?? null""", [t["title"] for t in templates])
    assert first == demo_title, first
    time.sleep(1.5)  # thumbnails
    shot(driver, "1-templates")
    from test_comfyui_frontend import click_text
    click_text(browser, demo_title)
    browser.wait_for(f"return {NODES}.length === 4 && !!{VISUALIZER}", 20, "the demo's four nodes")
    browser.wait_for("""const dialog = document.querySelector('[role="dialog"]');
        return !dialog || dialog.offsetParent === null""", 10, "the templates browser to close")
    settle(browser)
    assert_no_overlap(driver, "after the demo loaded")
    fit_view(driver)
    shot(driver, "2-demo")

    # 2. Run: many layers listed (block IN04), the preset layer's compact preview on the node.
    run(driver)
    rows = text_rows(browser, "ShowText|pysssss")
    assert len(rows) >= 10 and all(r.startswith("input_blocks.4.") for r in rows), rows
    preview = browser.wait_for(PREVIEW, 120, "the compact preview", 0.25, None)
    settle(browser)
    assert_no_overlap(driver, "after the first Run")
    # Legible on the node: a compact picture (not a 2,000 px page) shown at about its own size.
    preview = driver.execute_script(PREVIEW, None)
    assert 400 <= preview["width"] <= 640, preview
    shown_width = preview["nodeWidth"] - 20
    assert shown_width >= 0.75 * preview["width"], f"the preview is drawn at {shown_width} px of {preview['width']}"
    fit_view(driver)
    shot(driver, "3-run")

    # 3. Click another layer in the list: layer_name changes; Run renders it.
    chosen = next(r for r in rows if r.endswith("in_layers.2") or r.endswith("proj_in"))
    driver.execute_script("""const row = document.querySelector(
        `.weightlens-text[data-node-type="ShowText|pysssss"] .wl-row[data-layer="${arguments[0]}"]`);
        row.scrollIntoView({block: 'center'}); row.click();""", chosen)
    layer_name = driver.execute_script(f"return {VISUALIZER}.widgets.find(w => w.name === 'layer_name').value")
    assert layer_name == chosen
    run(driver)
    preview = browser.wait_for(PREVIEW, 120, "the new preview", 0.25, preview["src"])
    browser.wait_for(f"return {VISUALIZER}.weightlensView?.text?.includes(arguments[0])", 20,
                     "the layer text", 0.25, chosen)
    settle(browser)
    assert_no_overlap(driver, "after the second Run")
    fit_view(driver)
    shot(driver, "4-layer")

    # 4. The full page is one click away: the node's "open" links.
    links = browser.wait_for("""return [...document.querySelectorAll(
        '.weightlens-text[data-node-type="LTVisualizeWeights"] a.wl-open')].map(a => ({text: a.textContent, href: a.href}))""",
                             10, "open links on the node")
    pages = [link for link in links if "/view?" in link["href"]]
    viewer = [link for link in links if "/viewer?" in link["href"]]
    assert pages and viewer, links
    full = requests.get(pages[0]["href"], timeout=30)
    assert full.status_code == 200 and full.headers["Content-Type"] == "image/png"
    width = int.from_bytes(full.content[16:20], "big")
    assert width > preview["width"], (width, preview)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(viewer[0]["href"]).query)
    assert query["layer"] == [chosen] and query["ckpt"] and query["view"], query
    main = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(pages[0]["href"])
    browser.wait_for("const i = document.querySelector('img'); return i && i.complete && i.naturalWidth > 0",
                     20, "the full page in a tab")
    shot(driver, "5-full-page")
    driver.get(viewer[0]["href"])
    browser.wait_for("return document.querySelector('#image')?.dataset?.src ?? null", 90,
                     "the layer in the viewer")
    # Hovering a kernel there reads out the weight: the value stored in the checkpoint at that index.
    from test_viewer import hover_channel
    ckpt = query["ckpt"][0]
    readout = hover_channel(driver, browser, driver.find_element(By.ID, "image"),
                            os.path.join(frontend_base, "models", "checkpoints", ckpt) if frontend_base else None, chosen)
    assert "] = " in readout, readout
    shot(driver, "6-viewer")
    driver.close()
    driver.switch_to.window(main)

    # 5. A typo in layer_name: the sentence is on the node, in view, not only under "details".
    driver.execute_script(f"""const w = {VISUALIZER}.widgets.find(w => w.name === 'layer_name');
        w.value = arguments[0]; w.callback?.(w.value);""", chosen + "x")
    run(driver)
    error = browser.wait_for("""const e = document.querySelector(
        '.weightlens-text[data-node-type="LTVisualizeWeights"] .wl-error');
        return e && e.offsetParent !== null && e.textContent.includes('No layer named') ? e.textContent : null""",
                             60, "the error on the node")
    assert chosen in error and "closest" in error, error
    settle(browser, 1.5)
    assert_no_overlap(driver, "after the error")
    fit_view(driver)
    shot(driver, "7-error")

    console, network = browser.collect_logs()
    # A PNG opened in a tab of its own makes Chrome ask for /favicon.ico, which ComfyUI has not either.
    network = [r for r in network if not r.get("url", "").endswith("/favicon.ico")]
    console = [e for e in console if "/favicon.ico" not in e.get("message", "")]
    assert same_origin_problems(base, network) == []
    assert our_console_errors(base, console) == []


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
        # A file may name a model this server lacks (the original names SDXL base, the LoRA and
        # GGUF templates name files of the user's): pick a listed one in every such combo.
        driver.execute_script(f"""for (const n of {NODES}) for (const w of n.widgets ?? []) {{
            const values = w.options?.values;
            if (Array.isArray(values) && values.length > 0 && !values.includes(w.value)) {{
                w.value = values[0]; w.callback?.(w.value);
            }}
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
