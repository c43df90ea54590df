"""The built-in viewer page against WeightLens in headless Chromium: checkpoint list, layer tree,
substring and block-grammar filters, a rendered layer on the canvas, zoom, pan, the hover
read-out and a re-render when a view option changes."""
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


def test_root_serves_the_viewer_without_a_frontend(viewer_server):
    page = requests.get(viewer_server + "/", timeout=10)
    assert page.status_code == 200 and "WeightLens viewer" in page.text
    script = requests.get(viewer_server + "/viewer/viewer.js", timeout=10)
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]


def test_viewer_lists_filters_renders_and_reads_out(viewer_server, browser):
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
    # Hover: the read-out names a pixel of the image.
    ActionChains(driver).move_to_element(canvas).perform()
    readout = browser.wait_for("return document.getElementById('readout').textContent", 5, "the hover read-out")
    assert "x " in readout and "rgb(" in readout, readout
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
    console, network = browser.collect_logs()
    assert same_origin_problems(base, network) == []
    assert our_console_errors(base, console) == []
