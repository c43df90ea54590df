"""The built-in viewer page against WeightLens in headless Chromium: checkpoint list, layer tree,
substring and block-grammar filters, a rendered layer on the canvas, zoom, pan, the hover
read-out and a re-render when a view option changes."""
import os

import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from browserkit import ARTIFACTS, our_console_errors, same_origin_problems

LAYER_BUTTONS = "return [...document.querySelectorAll('#tree .layer')].map(b => b.dataset.layer)"


def expand_all(driver):
    """Opens every group of the tree (children are built when a group opens), repeatedly."""
    for _ in range(12):
        closed = driver.execute_script("""const closed = [...document.querySelectorAll('#tree details:not([open])')];
            closed.forEach(d => d.open = true); return closed.length""")
        if closed == 0:
            return


def expected_where(region, x, y):
    """What the read-out must say for image pixel (x, y) of `region`, computed here from the
    layout JSON (independently of the viewer's reader): "label · out N · in M", ranges for blocks."""
    def index(listed, cell, step, count):
        if isinstance(listed, int):
            return str(listed)
        step = step or 1
        first = cell * step
        last = min(count if count is not None else first + step, first + step) - 1
        return f"{first}–{last}" if last > first else str(first)
    r = min(region["rows"] - 1, (y - region["y"]) * region["rows"] // region["h"])
    c = min(region["cols"] - 1, (x - region["x"]) * region["cols"] // region["w"])
    cols = region.get("col_index")
    listed = (cols[r][c] if cols and isinstance(cols[0], list) else cols[c]) if cols else None
    row_list = region.get("row_index")
    return " · ".join([region["label"],
                       f"{region['row_name']} {index(row_list[r] if row_list else None, r, region.get('row_step'), region.get('row_count'))}",
                       f"{region['col_name']} {index(listed, c, region.get('col_step'), region.get('col_count'))}"])


def stored_weight(path, layer):
    """The layer's weight read straight from a safetensors file with numpy (independently of the
    server): shape and float32 values in C order."""
    import json
    import struct

    import numpy as np
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        key = next(k for k in header if k == layer + ".weight" or k.endswith("." + layer + ".weight"))
        spec = header[key]
        f.seek(8 + n + spec["data_offsets"][0])
        raw = f.read(spec["data_offsets"][1] - spec["data_offsets"][0])
    dtype = {"F16": np.float16, "F32": np.float32, "BF16": None}[spec["dtype"]]
    return spec["shape"], np.frombuffer(raw, dtype=dtype).astype(np.float32)


def point_at(driver, canvas, ix, iy):
    """Moves the pointer to image pixel (ix, iy) of the canvas's current view."""
    driver.execute_script("""const c = arguments[0], rect = c.getBoundingClientRect();
        const ratio = c.width / rect.width, scale = Number(c.dataset.scale);
        const [ox, oy] = c.dataset.offset.split(',').map(Number);
        c.dispatchEvent(new PointerEvent('pointermove', {bubbles: true,
            clientX: rect.left + (ox + arguments[1] * scale) / ratio,
            clientY: rect.top + (oy + arguments[2] * scale) / ratio}));""", canvas, ix, iy)


def hover_channel(driver, browser, canvas, weight_file=None, layer=None):
    """Reads the layout chunk of the PNG on the canvas, points at a weight of the middle cell of
    its `weights` panel and checks that the read-out names that cell's output/input channel and,
    given the checkpoint file, the weight's value as stored there. Returns the read-out."""
    layout = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        (async () => {
            const m = await import('/viewer/canvas.js');
            const bytes = new Uint8Array(await (await fetch(arguments[0].dataset.src)).arrayBuffer());
            done(m.parseLayout(m.pngTextChunks(bytes)));
        })().catch((e) => done({error: String(e)}));""", canvas)
    assert layout and "regions" in layout, f"the rendered PNG has no weightlens:layout chunk: {layout}"
    grid = next((r for r in layout["regions"] if r.get("label") == "weights" and r.get("rows")), None)
    assert grid, layout
    assert (grid["row_name"], grid["col_name"]) in {("out", "in"), ("out", "in·k")}, grid
    assert grid.get("values") in ("kernel", "matrix"), grid
    # A weight of the middle cell (for a kernel: the middle of its last kernel position), in image pixels.
    r, c = grid["rows"] // 2, grid["cols"] // 2
    x0 = grid["x"] + -(-c * grid["w"] // grid["cols"])
    y0 = grid["y"] + -(-r * grid["h"] // grid["rows"])
    kernel = grid.get("kernel")
    if kernel:
        ky, kx = kernel["kh"] - 1, kernel["kw"] - 1
        ix, iy = x0 + kx * kernel["cell_w"] + kernel["cell_w"] // 2, y0 + ky * kernel["cell_h"] + kernel["cell_h"] // 2
    else:
        ix = grid["x"] + (2 * c + 1) * grid["w"] / (2 * grid["cols"])
        iy = grid["y"] + (2 * r + 1) * grid["h"] / (2 * grid["rows"])
    point_at(driver, canvas, ix, iy)
    hit = browser.wait_for("""const e = document.getElementById('readout');
        return !e.hidden && e.dataset.value !== '' && e.textContent.includes('weights · ')
            ? {text: e.textContent, x: +e.dataset.x, y: +e.dataset.y, element: e.dataset.element, value: +e.dataset.value} : null""",
                           15, "the weight value in the read-out")
    readout = hit["text"]
    # The pixel the viewer reports must be named as the layout says (rounding may move it a pixel).
    assert expected_where(grid, hit["x"], hit["y"]) in readout, (readout, grid)
    assert f"{grid['row_name']} " in readout and f"{grid['col_name']} " in readout, readout
    element = [int(v) for v in hit["element"].split(",")]
    if weight_file:
        shape, values = stored_weight(weight_file, layer)
        per_row = int(values.size // shape[0])
        if len(element) == 3:  # out, in, position in the kernel
            flat = (element[0] * shape[1] + element[1]) * (per_row // shape[1]) + element[2]
        else:                  # out, flattened column
            flat = element[0] * per_row + element[1]
        assert hit["value"] == float(values[flat]), (hit, float(values[flat]), element)
    return readout


def test_root_serves_the_viewer_without_a_frontend(viewer_server):
    page = requests.get(viewer_server + "/", timeout=10)
    assert page.status_code == 200 and "WeightLens viewer" in page.text
    script = requests.get(viewer_server + "/viewer/viewer.js", timeout=10)
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]


def test_viewer_lists_filters_renders_and_reads_out(viewer_server, viewer_base, browser):
    base = viewer_server
    driver = browser.driver
    driver.get(base + "/viewer")
    browser.wait_for("return document.body.dataset.ready === 'true'", 60, "the viewer to start")
    assert "error" not in driver.find_element(By.ID, "status").get_attribute("class"), \
        driver.find_element(By.ID, "status").text

    # Checkpoints come from /object_info; the layer list from LTListLayers through the socket.
    checkpoints = driver.execute_script("return [...document.querySelectorAll('#checkpoint option')].map(o => o.value)")
    assert checkpoints, "no checkpoint listed"
    browser.wait_for("return document.querySelectorAll('#tree summary, #tree .layer').length > 0", 30, "the layer tree")
    total = int(driver.find_element(By.ID, "layer-count").text.split(" of ")[1].split()[0])
    assert total > 10

    # A substring filter narrows the tree at once.
    box = driver.find_element(By.ID, "filter")
    box.send_keys("proj_in")
    expand_all(driver)
    names = browser.wait_for(LAYER_BUTTONS, 10, "layers matching proj_in")
    assert names and all("proj_in" in n for n in names), names

    # A block expression is resolved by the server (U-Net block IN04 = input_blocks.4 in SDXL).
    box.clear()
    box.send_keys("IN04")
    browser.wait_for("""const names = [...document.querySelectorAll('#tree .layer')].map(b => b.dataset.layer);
        return names.length > 0 && names.every(n => n.startsWith('input_blocks.4.'))""", 30,
                     "the IN04 block's layers")
    expand_all(driver)
    names = driver.execute_script(LAYER_BUTTONS)
    assert names and all(n.startswith("input_blocks.4.") for n in names), names

    # Picking a layer renders it: the PNG from /api/view lands on the canvas.
    layer = next((n for n in names if n.endswith("proj_in")), names[0])
    driver.find_element(By.CSS_SELECTOR, f'#tree .layer[data-layer="{layer}"]').click()
    first = browser.wait_for("""const c = document.getElementById('image');
        return c.dataset.imageWidth > 0 ? c.dataset.src : null""", 90, "the rendered image")
    assert "/api/view?" in first and "type=temp" in first
    assert driver.execute_script("return document.getElementById('progress').classList.contains('done')")
    assert "error" not in driver.find_element(By.ID, "status").get_attribute("class"), \
        driver.find_element(By.ID, "status").text
    assert layer in driver.find_element(By.ID, "info").text or driver.find_element(By.ID, "info").text == ""

    canvas = driver.find_element(By.ID, "image")
    # Hover over the page's white margin: no read-out (it once reported white pixels).
    ActionChains(driver).move_to_element(canvas).perform()
    point_at(driver, canvas, 2, 2)
    assert driver.execute_script("const e = document.getElementById('readout'); return e.hidden || e.textContent === ''")
    # On the real render the PNG's layout chunk names the channel under the cursor, and the
    # read-out gives the weight's value: the value stored in the checkpoint file at that index.
    checkpoint = driver.execute_script("return document.getElementById('checkpoint').value")
    weight_file = os.path.join(viewer_base, "models", "checkpoints", checkpoint) if viewer_base else None
    hover_channel(driver, browser, canvas, weight_file, layer)
    # The pointer leaves the canvas: the read-out goes.
    driver.execute_script("arguments[0].dispatchEvent(new PointerEvent('pointerleave'))", canvas)
    browser.wait_for("const e = document.getElementById('readout'); return e.hidden || e.textContent === ''", 5,
                     "the read-out to hide")
    # Wheel zooms around the cursor; dragging pans.
    scale = float(canvas.get_attribute("data-scale"))
    driver.execute_script("""const c = arguments[0], r = c.getBoundingClientRect();
        c.dispatchEvent(new WheelEvent('wheel', {deltaY: -400, clientX: r.left + r.width / 2,
                                                 clientY: r.top + r.height / 2, bubbles: true, cancelable: true}));""",
                          canvas)
    assert float(canvas.get_attribute("data-scale")) > scale * 1.5
    offset = canvas.get_attribute("data-offset")
    ActionChains(driver).move_to_element(canvas).click_and_hold().move_by_offset(80, 40).release().perform()
    assert canvas.get_attribute("data-offset") != offset

    # Another view option re-renders the layer.
    mode = driver.find_elements(By.CSS_SELECTOR, "#options select[name=visualization_mode]")
    assert mode, "no visualization_mode control built from /object_info"
    options = [o.get_attribute("value") for o in mode[0].find_elements(By.TAG_NAME, "option")]
    assert {"weights", "expanded", "both"} <= set(options), options
    other = "weights" if mode[0].get_attribute("value") != "weights" else "expanded"
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change'))",
                          mode[0], other)
    browser.wait_for("""const c = document.getElementById('image');
        return c.dataset.src !== arguments[0] && c.dataset.imageWidth > 0""", 90, "the re-rendered image", 0.25, first)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "viewer.png"))

    # A block that does not exist: the node's error (naming the valid blocks) is shown, not hidden.
    box = driver.find_element(By.ID, "filter")
    box.clear()
    box.send_keys("IN99")
    status = browser.wait_for("""const s = document.getElementById('status');
        return s.classList.contains('error') ? s.textContent : null""", 30, "the invalid block error")
    assert "IN99" in status and "LTListLayers" in status, status
    console, network = browser.collect_logs()
    assert same_origin_problems(base, network) == []
    assert our_console_errors(base, console) == []


def test_viewer_modules_read_png_layout_chunks_and_fold_the_tree(viewer_server, browser):
    """The read-out's layout reader and the tree builder, run in the browser on crafted input."""
    driver = browser.driver
    driver.get(viewer_server + "/viewer")
    result = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        (async () => {
            const canvas = await import('/viewer/canvas.js');
            const tree = await import('/viewer/tree.js');
            const bytes = [];
            const u32 = (n) => bytes.push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
            const chunk = (type, data) => {
                u32(data.length);
                for (const c of type) bytes.push(c.charCodeAt(0));
                bytes.push(...data);
                u32(0);  // CRC: not checked by the reader
            };
            bytes.push(137, 80, 78, 71, 13, 10, 26, 10);
            chunk('IHDR', new Array(13).fill(0));
            const layout = {regions: [
                {x: 0, y: 0, w: 100, h: 20, label: 'header'},
                {x: 0, y: 20, w: 320, h: 160, label: 'weights', rows: 4, cols: 8,
                 row_name: 'out', col_name: 'in', row_index: [0, 1, 2, 3],
                 col_index: [[10, 11, 12, 13, 14, 15, 16, 17], [20, 21, 22, 23, 24, 25, 26, 27],
                             [30, 31, 32, 33, 34, 35, 36, 37], [40, 41, 42, 43, 44, 45, 46, 47]]},
                // A block-reduced heatmap (4 rows and 3 columns per cell) and a bar chart over one axis.
                {x: 400, y: 0, w: 100, h: 100, label: 'heat', rows: 10, cols: 10, row_name: 'out', col_name: 'in',
                 row_step: 4, row_count: 38, col_step: 3, col_count: 30},
                {x: 600, y: 0, w: 100, h: 10, label: 'component 1 u', rows: 1, cols: 50, col_name: 'out'}]};
            const text = 'weightlens:layout\\0' + JSON.stringify(layout);
            chunk('tEXt', [...text].map((c) => c.charCodeAt(0)));
            chunk('IEND', []);
            // A truncated copy must not throw or loop.
            const truncated = canvas.pngTextChunks(new Uint8Array(bytes.slice(0, bytes.length - 30)));
            const parsed = canvas.parseLayout(canvas.pngTextChunks(new Uint8Array(bytes)));
            const t = tree.buildTree(['input_blocks.4.1.proj_in', 'input_blocks.4.1.norm', 'out.2']);
            done({
                truncated: Object.keys(truncated),
                header: canvas.describeLayout(parsed, 5, 5),
                tile: canvas.describeLayout(parsed, 45, 65),
                block: canvas.describeLayout(parsed, 455, 95),
                bars: canvas.describeLayout(parsed, 650, 5),
                outside: canvas.describeLayout(parsed, 400, 400),
                none: canvas.describeLayout(null, 1, 1),
                top: [...t.children.values()].map((n) => [n.label, n.layer, n.children.size]),
            });
        })().catch((e) => done({error: String(e)}));""")
    assert "error" not in result, result
    assert result["truncated"] == []
    assert result["header"] == "header"
    # (45, 65) lies in row (65-20)*4/160 = 1, column 45*8/320 = 1 of the weights panel.
    assert result["tile"] == "weights · out 1 · in 21"
    # Block cells read as index ranges, the last one clipped to row_count.
    assert result["block"] == "heat · out 36–37 · in 15–17"
    # One unnamed row: only the column is named.
    assert result["bars"] == "component 1 u · out 25"
    assert result["outside"] == "" and result["none"] == ""
    assert result["top"] == [["input_blocks.4.1", None, 2], ["out.2", "out.2", 0]]
