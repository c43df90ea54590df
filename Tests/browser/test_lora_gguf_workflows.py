"""The LoRA and GGUF workflows in the official frontend, as a user runs them.

- workflows/lora_compare.json, opened from the templates browser: Load Checkpoint →
  LoraLoaderModelOnly → LTLoraInspect (model = the base) and LTVisualizeDelta (A = base, B = patched).
  The user has dropped a LoRA into models/loras (a kohya-named SDXL LoRA for the demo checkpoint,
  written by the `safetensors` package: model_files.py), picks it in both LoRA combos and runs:
  LTLoraInspect shows its chart and a table naming exactly the layers the LoRA touches, with |dW|
  and |dW|/|W| as numpy computes them from the file's factors; LTVisualizeDelta shows the change of
  one of them, |B - A| equal to numpy's |dW|; with an empty layer_name it lists exactly the LoRA's
  layers, and a click on one draws that layer's change on the next Run.
- workflows/gguf_visualize.json, dropped onto the canvas: UnetLoaderGGUF with a Flux-layout GGUF
  written by llama.cpp's `gguf` package in models/unet → LTListLayers (block D00) → Show Text, and
  → LTVisualizeWeights on a Q4_0 layer, whose picture draws data."""
import json
import re

import numpy as np
import requests
from safetensors import safe_open
from selenium.webdriver.common.by import By

from browserkit import ARTIFACTS, NODE_PICTURE, ROOT, our_console_errors, post_json, same_origin_problems
from model_files import DEMO_CHECKPOINT, GGUF_NAME, LORA_NAME
from test_analysis_workflows import png_chunks
from test_comfyui_frontend import APP_READY, DROP_FILE, click_text

NODES = "(window.app.graph._nodes ?? window.app.graph.nodes)"

# Sets a widget of the (first) node of a type through the widget's setValue, the path a value
# picked in the canvas takes: callback, then node.onWidgetChanged, where the frontend drops its
# "missing model" mark (a template names a LoRA or GGUF the user does not have).
SET_WIDGET = f"""
const [type, name, value] = arguments;
const node = {NODES}.find(n => n.type === type);
const widget = node.widgets.find(w => w.name === name);
if (Array.isArray(widget.options?.values) && !widget.options.values.includes(value)) return widget.options.values;
widget.setValue(value, {{e: null, node, canvas: window.app.canvas}});
return widget.value === value;"""

# True when the frontend marks no node as having errors (a red outline: a missing model, a failed validation).
NONE_MARKED = f"return !{NODES}.some(n => n.has_errors)"

# Rows of the layers table in LTLoraInspect's report (the nested table whose first column is `name`).
LORA_TABLE = """
for (const table of document.querySelectorAll('.weightlens-text[data-node-type="LTLoraInspect"] table.wl-report table.wl-report')) {
    const rows = [...table.querySelectorAll(':scope > tr')].map(r => [...r.children].map(c => c.textContent));
    if (rows.length > 1 && rows[0][0] === 'name') return rows;
}
return null;"""

NODE_TEXT = f"return {NODES}.find(n => n.type === arguments[0])?.weightlensView?.text ?? ''"


def picture(browser, node_type, previous=None, min_colours=20, timeout=120):
    """The node's first picture, fetched again from /view and decoded: it must draw data (a chart
    has few colours, a heatmap many; either covers a good part of its background)."""
    shown = browser.wait_for(NODE_PICTURE, timeout, f"the picture on {node_type}", 0.5, node_type, previous)
    assert "/view?" in shown["src"], shown
    png = requests.get(shown["src"], timeout=30)
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    width, height, _ = png_chunks(png.content)
    assert (width, height) == (shown["width"], shown["height"]), shown
    assert width >= 200 and height >= 100 and shown["colours"] > min_colours and shown["inked"] > 0.03, shown
    return shown


def set_widget(driver, node_type, name, value):
    result = driver.execute_script(SET_WIDGET, node_type, name, value)
    assert result is True, f"{node_type}.{name}: {value!r} is not offered; the combo lists {result}"


def run(driver):
    driver.find_element(By.XPATH, "//button[normalize-space(.)='Run']").click()


def test_lora_template_shows_where_a_lora_acts(frontend_server, frontend_base, frontend_models, browser):
    base = frontend_server
    driver = browser.driver
    # A new user: the templates browser opens; the LoRA workflow is one of its cards.
    catalogue = requests.get(f"{base}/templates/index.json", timeout=10).json()
    title = next(t["title"] for c in catalogue for t in c["templates"] if t["name"] == "lora_compare")
    post_json(f"{base}/api/settings/Comfy.TutorialCompleted", False)
    driver.get(base + "/")
    browser.wait_for(APP_READY + " && !!window.LiteGraph.registered_node_types['LoraLoaderModelOnly']", 90,
                     "the ComfyUI app with the LoRA nodes")
    click_text(browser, title)
    browser.wait_for(f"""const types = {NODES}.map(n => n.type).sort().join();
        return types === 'CheckpointLoaderSimple,LTLoraInspect,LTVisualizeDelta,LoraLoaderModelOnly'""",
                     20, "the LoRA workflow's four nodes")
    browser.wait_for("""const dialog = document.querySelector('[role="dialog"]');
        return !dialog || dialog.offsetParent === null""", 10, "the templates browser to close")
    # Wired as the issue says: the base into LTLoraInspect and model_a, the patched model into model_b.
    wiring = driver.execute_script(f"""const byType = t => {NODES}.find(n => n.type === t);
        const from = (t, input) => {{ const n = byType(t); const slot = n.inputs.findIndex(i => i.name === input);
                                      return n.getInputNode(slot)?.type ?? null; }};
        return {{lora: from('LoraLoaderModelOnly', 'model'), inspect: from('LTLoraInspect', 'model'),
                 a: from('LTVisualizeDelta', 'model_a'), b: from('LTVisualizeDelta', 'model_b')}}""")
    assert wiring == {"lora": "CheckpointLoaderSimple", "inspect": "CheckpointLoaderSimple",
                      "a": "CheckpointLoaderSimple", "b": "LoraLoaderModelOnly"}, wiring

    # The user's LoRA, picked in both LoRA combos; the template's checkpoint is the demo.
    set_widget(driver, "CheckpointLoaderSimple", "ckpt_name", DEMO_CHECKPOINT)
    set_widget(driver, "LoraLoaderModelOnly", "lora_name", LORA_NAME)
    set_widget(driver, "LTLoraInspect", "lora_name", LORA_NAME)
    delta_layer = driver.execute_script(f"""return {NODES}.find(n => n.type === 'LTVisualizeDelta')
        .widgets.find(w => w.name === 'layer_name').value""")
    deltas = frontend_models.lora_deltas
    assert delta_layer in deltas, f"the template's layer {delta_layer} is not one the test LoRA changes"
    browser.wait_for(NONE_MARKED, 10, "no node marked red once the LoRA is picked")
    run(driver)

    # LTLoraInspect: its chart, and the report as a table naming exactly the layers the LoRA touches.
    picture(browser, "LTLoraInspect", min_colours=4)  # |dW| along the blocks: a chart
    rows = browser.wait_for(LORA_TABLE, 60, "the layers table on LTLoraInspect")
    assert {row[0] for row in rows[1:]} == set(deltas), rows
    report = json.loads(driver.execute_script(NODE_TEXT, "LTLoraInspect"))
    assert "kohya" in report["format"] and report["unmatched_keys"] == [], report["format"]
    assert report["metadata"]["ss_network_module"] == "networks.lora"
    with safe_open(f"{frontend_base}/models/checkpoints/{DEMO_CHECKPOINT}", "np") as checkpoint:
        for layer in report["layers"]:
            want = np.linalg.norm(deltas[layer["name"]])
            weight = checkpoint.get_tensor(f"model.diffusion_model.{layer['name']}.weight").astype(np.float64)
            assert (layer["rank"], layer["alpha"], layer["scale"]) == (4, 2, 0.5), layer
            assert abs(layer["delta_l2"] - want) <= 1e-4 * want, (layer, want)
            assert abs(layer["relative_change"] - want / np.linalg.norm(weight)) <= 1e-3 * layer["relative_change"], layer

    # LTVisualizeDelta: the change of the template's layer, |B - A| = |dW|.
    first = picture(browser, "LTVisualizeDelta")
    text = browser.wait_for(NODE_TEXT, 20, "the delta summary", 0.25, "LTVisualizeDelta")
    norm = float(re.search(r"\|B-A\| = ([0-9.eE+-]+)", text).group(1))
    want = np.linalg.norm(deltas[delta_layer])
    assert abs(norm - want) <= 1e-4 * want, (text, want)

    # LTVisualizeDelta with an empty layer_name lists the layers the LoRA changes, clickable; a
    # click on the 3x3 conv (LoCon) sets layer_name and Run draws its change.
    set_widget(driver, "LTVisualizeDelta", "layer_name", "")
    run(driver)
    listed = browser.wait_for("""const rows = [...document.querySelectorAll(
        '.weightlens-text[data-node-type="LTVisualizeDelta"] .wl-row')].map(r => r.dataset.layer);
        return rows.length > 0 ? rows : null""", 60, "the LoRA's layers listed on LTVisualizeDelta")
    assert sorted(listed) == sorted(deltas), listed
    conv = next(layer for layer in listed if layer.endswith("in_layers.2"))
    driver.execute_script("""const row = document.querySelector(
        `.weightlens-text[data-node-type="LTVisualizeDelta"] .wl-row[data-layer="${arguments[0]}"]`);
        row.scrollIntoView({block: 'center'}); row.click();""", conv)
    assert driver.execute_script(f"""return {NODES}.find(n => n.type === 'LTVisualizeDelta')
        .widgets.find(w => w.name === 'layer_name').value""") == conv
    run(driver)
    picture(browser, "LTVisualizeDelta", first["src"])
    browser.wait_for(f"""return ({NODES}.find(n => n.type === arguments[0])?.weightlensView?.text ?? '')
        .includes('Delta of ' + arguments[1])""", 30, "the conv layer's delta summary", 0.25, "LTVisualizeDelta", conv)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "lora-workflow.png"))

    console, network = browser.collect_logs()
    assert same_origin_problems(base, network) == []
    assert our_console_errors(base, console) == []


def test_gguf_workflow_visualizes_a_quantized_flux_layer(frontend_server, frontend_models, browser):
    base = frontend_server
    driver = browser.driver
    post_json(f"{base}/api/settings/Comfy.TutorialCompleted", True)
    driver.get(base + "/")
    browser.wait_for(APP_READY + " && !!window.LiteGraph.registered_node_types['UnetLoaderGGUF']", 90,
                     "the ComfyUI app with UnetLoaderGGUF")
    path = ROOT / "workflows" / "gguf_visualize.json"
    workflow = json.loads(path.read_text())
    driver.execute_script(DROP_FILE, path.name, json.dumps(workflow))
    browser.wait_for(f"""return {NODES}.length === 4 && {NODES}.some(n => n.type === 'UnetLoaderGGUF')""",
                     20, "the GGUF workflow's four nodes")
    set_widget(driver, "UnetLoaderGGUF", "unet_name", GGUF_NAME)
    layer = driver.execute_script(f"""return {NODES}.find(n => n.type === 'LTVisualizeWeights')
        .widgets.find(w => w.name === 'layer_name').value""")
    assert frontend_models.gguf_types[layer + ".weight"] == "Q4_0", layer
    browser.wait_for(NONE_MARKED, 10, "no node marked red once the GGUF is picked")
    run(driver)

    # Block D00 of the Flux layout, listed on Show Text; the quantized layer drawn on the visualizer.
    rows = browser.wait_for("""const rows = [...document.querySelectorAll(
        '.weightlens-text[data-node-type="ShowText|pysssss"] .wl-row')].map(r => r.dataset.layer);
        return rows.length > 0 ? rows : null""", 60, "the D00 layers on Show Text")
    assert layer in rows and all(r.startswith("double_blocks.0.") for r in rows), rows
    picture(browser, "LTVisualizeWeights")
    text = browser.wait_for(NODE_TEXT, 20, "the layer text", 0.25, "LTVisualizeWeights")
    assert layer in text and "Q4_0" in text, text

    console, network = browser.collect_logs()
    assert same_origin_problems(base, network) == []
    assert our_console_errors(base, console) == []
