"""The official ComfyUI frontend (comfyui-frontend-package) against WeightLens, driven like a user:
the app loads cleanly, the nodes are in the node library, the original workflow file is dropped
onto the canvas, Run executes it, the web extension shows the layer list, a click on a layer
sets layer_name, and LTVisualizeWeights shows its PNG preview loaded from /view."""
import json
import os
import pathlib
import time

import requests
from selenium.webdriver.common.by import By

from browserkit import ARTIFACTS, ROOT, our_console_errors, post_json, same_origin_problems

WORKFLOW = pathlib.Path(os.environ.get("WEIGHTLENS_WORKFLOW", ROOT / "workflows" / "workflow_weight_visualization.json"))

APP_READY = """return !!(window.app && window.app.graph && window.app.canvas && window.LiteGraph
    && window.LiteGraph.registered_node_types['LTVisualizeWeights']
    && window.LiteGraph.registered_node_types['LTListLayers']
    && window.LiteGraph.registered_node_types['CheckpointLoaderSimple'])"""

# Drops a workflow file onto the graph canvas through the browser's drag-and-drop events, the
# same path a file dragged from the desktop takes.
DROP_FILE = """
const [name, text] = arguments;
const file = new File([text], name, {type: 'application/json'});
const data = new DataTransfer();
data.items.add(file);
const target = document.querySelector('#graph-canvas') || document.querySelector('canvas');
const rect = target.getBoundingClientRect();
const at = {bubbles: true, cancelable: true, dataTransfer: data,
            clientX: rect.left + rect.width / 2, clientY: rect.top + rect.height / 2};
target.dispatchEvent(new DragEvent('dragenter', at));
target.dispatchEvent(new DragEvent('dragover', at));
target.dispatchEvent(new DragEvent('drop', at));
"""

NODES_BY_TYPE = """
const nodes = window.app.graph._nodes ?? window.app.graph.nodes;
return nodes.filter(n => (n.comfyClass ?? n.type) === arguments[0]).map(n => n.id);
"""


def click_text(browser, text, scope="body"):
    """Clicks the innermost visible element of `scope` whose text is exactly `text`."""
    return browser.wait_for("""
        const [text, scope] = arguments;
        const all = [...document.querySelector(scope).querySelectorAll('*')]
            .filter(e => e.textContent.trim() === text && e.offsetParent !== null);
        const innermost = all.filter(e => !all.some(o => o !== e && e.contains(o)));
        if (innermost.length === 0) return false;
        innermost[0].click();
        return true;""", 30, f"an element with text {text!r}", 0.25, text, scope)


def test_official_frontend_runs_the_original_workflow(frontend_server, browser):
    base = frontend_server
    driver = browser.driver
    # A returning user: the first-run templates dialog would cover the canvas.
    post_json(f"{base}/api/settings/Comfy.TutorialCompleted", True)

    # 1. The app loads with every node type registered.
    started = time.monotonic()
    driver.get(base + "/")
    browser.wait_for(APP_READY, 90, "the ComfyUI app with the WeightLens node types")
    print(f"app ready after {time.monotonic() - started:.1f}s")

    # 2. The node library lists the nodes under their category.
    driver.find_element(By.CSS_SELECTOR, "button[aria-label^='Node Library']").click()
    click_text(browser, "LatentTools")
    for name in ("LTVisualizeWeights", "LTListLayers"):
        browser.wait_for("""return [...document.querySelectorAll('*')].some(
            e => e.offsetParent !== null && e.children.length === 0 && e.textContent.trim() === arguments[0])""",
            15, f"{name} in the node library", 0.25, name)
    driver.find_element(By.CSS_SELECTOR, "button[aria-label^='Node Library']").click()

    # 3a. The workflows sidebar lists the shipped workflows (copied into the user's folder under
    # their titles from workflows/templates.json, so the demo and the original read differently).
    driver.find_element(By.CSS_SELECTOR, "button[aria-label^='Workflows']").click()
    click_text(browser, "Weight visualization demo")
    browser.wait_for("""const nodes = window.app.graph._nodes ?? window.app.graph.nodes;
        return nodes.length === 4 && nodes.some(n => n.type === 'LTVisualizeWeights')""",
                     20, "the demo workflow opened from the workflows sidebar")
    driver.find_element(By.CSS_SELECTOR, "button[aria-label^='Workflows']").click()

    # 3b. The original workflow file, dropped on the canvas, loads with every node known.
    workflow = json.loads(WORKFLOW.read_text())
    driver.execute_script(DROP_FILE, WORKFLOW.name, json.dumps(workflow))
    original_checkpoint = workflow["nodes"][0]["widgets_values"][0]
    browser.wait_for("""const nodes = window.app.graph._nodes ?? window.app.graph.nodes;
        const loader = nodes.find(n => n.type === 'CheckpointLoaderSimple');
        return nodes.length === 4 && loader?.widgets?.[0]?.value === arguments[0]""",
                     20, "the dropped workflow's four nodes", 0.25, original_checkpoint)
    unknown = driver.execute_script("""const nodes = window.app.graph._nodes ?? window.app.graph.nodes;
        return nodes.filter(n => !window.LiteGraph.registered_node_types[n.type]).map(n => n.type)""")
    assert unknown == [], f"node types unknown to the frontend: {unknown}"

    # The file names a checkpoint this server may not have: pick the first listed one, as a user would.
    checkpoint = driver.execute_script("""
        const loader = (window.app.graph._nodes ?? window.app.graph.nodes).find(n => n.type === 'CheckpointLoaderSimple');
        const widget = loader.widgets.find(w => w.name === 'ckpt_name');
        const options = widget.options.values;
        if (!options.includes(widget.value)) { widget.value = options[0]; widget.callback?.(widget.value); }
        return widget.value;""")
    assert checkpoint, "the server lists no checkpoint"

    # 4. Run: ShowText shows the layer list through the web extension.
    run = driver.find_element(By.XPATH, "//button[normalize-space(.)='Run']")
    run.click()
    rows = browser.wait_for("""return [...document.querySelectorAll('.weightlens-text[data-node-type="ShowText|pysssss"] .wl-row')]
        .map(r => r.dataset.layer)""", 60, "the layer list on the ShowText node")
    filter_text = workflow["nodes"][2]["widgets_values"][0]
    assert all(filter_text in row for row in rows), f"rows not matching the filter {filter_text!r}: {rows[:5]}"
    # With an empty layer_name the visualizer lists every layer, clickable on the node itself.
    every = browser.wait_for("""return [...document.querySelectorAll(
        '.weightlens-text[data-node-type="LTVisualizeWeights"] .wl-row')].map(r => r.dataset.layer)""",
                             30, "the layer list on LTVisualizeWeights")
    assert set(rows) <= set(every) and len(every) > len(rows)

    # 5. A click on a listed layer sets layer_name on LTVisualizeWeights; Run renders it.
    # (The extension moved nodes the visualizer's output would cover: fit them all on screen.)
    driver.execute_script("const c = window.app.canvas; c.fitViewToSelection?.(); c.setDirty(true, true);")
    time.sleep(1)
    chosen = rows[0]
    driver.execute_script("""document.querySelector(`.weightlens-text[data-node-type="ShowText|pysssss"] .wl-row[data-layer="${arguments[0]}"]`)
        .scrollIntoView({block: 'center'})""", chosen)
    row = driver.find_element(By.CSS_SELECTOR, f'.weightlens-text[data-node-type="ShowText|pysssss"] .wl-row[data-layer="{chosen}"]')
    row.click()
    layer_name = driver.execute_script("""
        const node = (window.app.graph._nodes ?? window.app.graph.nodes).find(n => n.type === 'LTVisualizeWeights');
        return node.widgets.find(w => w.name === 'layer_name').value""")
    assert layer_name == chosen
    # The first run (empty layer_name) may already have put a preview there: wait for a new one.
    first_src = driver.execute_script("""
        const node = (window.app.graph._nodes ?? window.app.graph.nodes).find(n => n.type === 'LTVisualizeWeights');
        return node.imgs?.[0]?.src ?? null""")
    run.click()

    # 6. The PNG preview is loaded from /view into the node (naturalWidth > 0).
    preview = browser.wait_for("""
        const node = (window.app.graph._nodes ?? window.app.graph.nodes).find(n => n.type === 'LTVisualizeWeights');
        const img = node.imgs?.[0];
        if (!img || img.src === arguments[0] || !img.complete || img.naturalWidth === 0) return null;
        return {src: img.src, width: img.naturalWidth, height: img.naturalHeight};""",
                               90, "the LTVisualizeWeights preview image", 0.25, first_src)
    assert "/view?" in preview["src"] and "type=temp" in preview["src"], preview
    assert preview["width"] > 0 and preview["height"] > 0
    # The layer information (ui.text) is shown on the node as well.
    browser.wait_for("""
        const node = (window.app.graph._nodes ?? window.app.graph.nodes).find(n => n.type === 'LTVisualizeWeights');
        return node.weightlensView?.text?.includes(arguments[0])""", 10,
                     "the layer information on LTVisualizeWeights", 0.25, chosen)

    # 7. The job queue panel lists both finished runs, as /api/jobs reports them.
    # (Queueing may already have opened it; the "N active" button toggles it.)
    if not driver.execute_script("return !!document.querySelector('[data-testid=\"job-assets-list\"]')"):
        driver.find_element(By.XPATH, "//button[contains(normalize-space(.), 'active')]").click()
    shown = browser.wait_for("""const ids = [...document.querySelectorAll('[data-testid="job-assets-list"] [data-job-id]')]
        .map(e => e.dataset.jobId); return ids.length >= 2 ? ids : null""", 20, "two jobs in the queue panel")
    # Every job the panel shows is one /api/jobs knows (failed ones too: the server is shared with
    # other tests, e.g. the first-minutes test's mistyped layer_name, whatever order they run in).
    jobs = requests.get(f"{base}/api/jobs?limit=200", timeout=10).json()["jobs"]
    assert set(shown) <= {job["id"] for job in jobs}, (shown, jobs)
    ours = [job for job in jobs if job["id"] in shown]
    assert sum(job["status"] == "completed" for job in ours) >= 2, ours
    # Spread the nodes out (the original file stacks them) for the picture in docs/FRONTEND.md.
    driver.execute_script("""
        const nodes = window.app.graph._nodes ?? window.app.graph.nodes;
        const byType = t => nodes.find(n => n.type === t);
        const place = (t, x, y, w, h) => { const n = byType(t); n.pos = [x, y]; if (w) n.size = [w, h]; };
        place('CheckpointLoaderSimple', 0, 0);
        place('LTListLayers', 0, 170, 330, 90);
        place('ShowText|pysssss', 0, 310, 330, 260);
        place('LTVisualizeWeights', 380, 0, 900, 760);
        window.app.canvas.deselectAll?.();
        window.app.canvas.ds.scale = 0.9;
        window.app.canvas.ds.offset = [90, 120];
        window.app.graph.setDirtyCanvas(true, true);""")
    driver.find_element(By.XPATH, "//button[contains(normalize-space(.), 'active')]").click()  # close the panel
    time.sleep(1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "comfyui-frontend.png"))

    # No failed request and no console error of ours, from boot to here.
    console, network = browser.collect_logs()
    # The run was followed on the socket: progress of the visualizer's analysis (what drives the
    # node's progress bar), then its executed output.
    visualizer_id = str(driver.execute_script(NODES_BY_TYPE, "LTVisualizeWeights")[0])
    kinds = [(m.get("type"), str((m.get("data") or {}).get("node"))) for m in browser.socket_messages]
    assert ("progress", visualizer_id) in kinds, sorted(set(kinds), key=str)
    assert ("executed", visualizer_id) in kinds, sorted(set(kinds), key=str)
    assert any(m.get("type") == "progress_state" and visualizer_id in (m.get("data") or {}).get("nodes", {})
               for m in browser.socket_messages)
    view_requests = [r for r in network if "/view?" in r.get("url", "") and r.get("status") == 200]
    assert view_requests, "no successful GET /view request"
    assert all(r.get("mime") == "image/png" for r in view_requests), view_requests
    assert same_origin_problems(base, network) == []
    assert our_console_errors(base, console) == []


def test_first_run_opens_the_templates_browser_and_the_demo_workflow_runs(frontend_server, browser):
    """A new user: no settings yet, so the frontend opens its templates browser; the WeightLens
    demo workflow is offered there, loads with the demo checkpoint and shows a preview on Run."""
    base = frontend_server
    driver = browser.driver
    # With a frontend root, / is ComfyUI's page and the built-in viewer stays at /viewer.
    assert "<title>ComfyUI</title>" in requests.get(base + "/", timeout=10).text
    assert "WeightLens viewer" in requests.get(base + "/viewer", timeout=10).text
    # Every template offered must be a workflow the frontend can open (API-format prompts are not).
    # The frontend build has no templates catalogue: WeightLens serves its workflows as /templates/index.json.
    catalogue = requests.get(f"{base}/templates/index.json", timeout=10).json()
    titles = {t["name"]: t["title"] for category in catalogue for t in category["templates"]}
    assert "workflow_weight_visualization_demo" in titles, catalogue
    for name in titles:
        template = requests.get(f"{base}/templates/{name}.json", timeout=10).json()
        assert isinstance(template.get("nodes"), list), f"template {name} is not a UI workflow"
    post_json(f"{base}/api/settings/Comfy.TutorialCompleted", False)
    driver.get(base + "/")
    browser.wait_for(APP_READY, 90, "the ComfyUI app with the WeightLens node types")

    # The templates browser lists the shipped workflows under their titles.
    click_text(browser, titles["workflow_weight_visualization_demo"])
    browser.wait_for("""const nodes = window.app.graph._nodes ?? window.app.graph.nodes;
        return nodes.length === 4 && nodes.some(n => n.type === 'LTVisualizeWeights')""",
                     20, "the demo workflow's four nodes")
    checkpoint = driver.execute_script("""
        const loader = (window.app.graph._nodes ?? window.app.graph.nodes).find(n => n.type === 'CheckpointLoaderSimple');
        const widget = loader.widgets.find(w => w.name === 'ckpt_name');
        return widget.options.values.includes(widget.value) ? widget.value : null""")
    assert checkpoint, "the demo workflow names a checkpoint the server does not list"

    # Run as it is: the layer list on ShowText, and (empty layer_name) a preview on the visualizer.
    browser.wait_for("""const dialog = document.querySelector('[role="dialog"]');
        return !dialog || dialog.offsetParent === null""", 10, "the templates browser to close")
    driver.find_element(By.XPATH, "//button[normalize-space(.)='Run']").click()
    browser.wait_for("""return document.querySelectorAll(
        '.weightlens-text[data-node-type="ShowText|pysssss"] .wl-row').length > 0""", 60,
                     "the layer list on the ShowText node")
    browser.wait_for("""
        const node = (window.app.graph._nodes ?? window.app.graph.nodes).find(n => n.type === 'LTVisualizeWeights');
        const img = node.imgs?.[0];
        return img && img.complete && img.naturalWidth > 0""", 90, "the LTVisualizeWeights preview image")

    console, network = browser.collect_logs()
    assert same_origin_problems(base, network) == []
    assert our_console_errors(base, console) == []
