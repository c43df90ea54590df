"""Helpers of the browser tests: the server process, the browser, request and console checks."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "pysupport"))
from weightlens_binary import weightlens_binary  # noqa: E402

import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Selenium must never fetch a driver or a browser: Debian's packages provide both.
os.environ.setdefault("SE_OFFLINE", "true")
ARTIFACTS = ROOT / "out" / "browser"
STARTUP_SECONDS = 60


class Server:
    """A `weightlens serve` child process on a free port with its own base directory."""

    def __init__(self, front_end_root=None):
        self.base = tempfile.mkdtemp(prefix="weightlens-browser-")
        self.binary = weightlens_binary()
        args = [self.binary, "serve", "--port", "0", "--base-directory", self.base]
        if front_end_root:
            args += ["--front-end-root", front_end_root]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output = []
        self.url = None
        ready = threading.Event()

        def pump():
            # The server prints the URL it listens on; keep reading so its pipe never fills.
            for line in self.process.stdout:
                self.output.append(line)
                match = re.search(r"https?://[^\s/]+", line)
                if match and not ready.is_set():
                    self.url = match.group(0).replace("0.0.0.0", "127.0.0.1")
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        ready.wait(STARTUP_SECONDS)
        if self.url is None:
            self.stop()
            raise RuntimeError("weightlens serve printed no URL:\n" + "".join(self.output))

    def check_alive(self):
        """Raises with the server's output when it has exited (a crash must not look like a refusal)."""
        code = self.process.poll()
        if code is not None:
            raise RuntimeError(f"weightlens serve exited with status {code}:\n" + "".join(self.output))

    def save_log(self, name):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"server-{name}.log").write_text("".join(self.output))

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.base, ignore_errors=True)


class Browser:
    """Headless Chromium with console and network logging."""

    def __init__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1600,1000", "--disable-extensions", "--no-first-run"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        # An explicit driver path keeps selenium from looking for (downloading) a driver.
        service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_script_timeout(60)
        self.console = []
        self.network = {}
        self.socket_messages = []  # JSON text frames the page received on /ws

    def collect_logs(self):
        """Moves new console entries and network events out of the browser into lists."""
        self.console += self.driver.get_log("browser")
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            request_id = params.get("requestId")
            if message["method"] == "Network.requestWillBeSent":
                request = params["request"]
                self.network.setdefault(request_id, {}).update(method=request["method"], url=request["url"])
            elif message["method"] == "Network.responseReceived":
                response = params["response"]
                self.network.setdefault(request_id, {}).update(
                    url=response["url"], status=response["status"], mime=response.get("mimeType"))
            elif message["method"] == "Network.webSocketFrameReceived":
                payload = params.get("response", {}).get("payloadData", "")
                if payload.startswith("{"):
                    try:
                        self.socket_messages.append(json.loads(payload))
                    except ValueError:
                        pass
            elif message["method"] == "Network.loadingFailed":
                self.network.setdefault(request_id, {}).update(failed=params.get("errorText"),
                                                               canceled=params.get("canceled", False))
        return self.console, list(self.network.values())

    def wait_for(self, script, timeout=30, message="condition", interval=0.25, *args):
        """Polls a JavaScript expression (`return ...`) until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.driver.execute_script(script, *args)
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {message} (last value {value!r})")

    def save_artifacts(self, name):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            self.driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
            console, network = self.collect_logs()
            (ARTIFACTS / f"{name}.console.json").write_text(json.dumps(console, indent=1))
            (ARTIFACTS / f"{name}.network.json").write_text(json.dumps(network, indent=1))
        except Exception as error:  # the browser may be gone; the test's own error matters more
            print(f"could not save browser artifacts for {name}: {error}")

    def quit(self):
        self.driver.quit()


# The first picture on the node of type arguments[0], once loaded and not arguments[1] (an earlier
# src, or null): its src, size, how many colours a sample of its pixels has (blank: one or two)
# and the share of sampled pixels not of the top-left pixel's colour (the background).
NODE_PICTURE = """
const node = (window.app.graph._nodes ?? window.app.graph.nodes).find(n => n.type === arguments[0]);
const img = node?.imgs?.[0];
if (!img || img.src === arguments[1] || !img.complete || img.naturalWidth === 0) return null;
const canvas = document.createElement('canvas');
canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
const ctx = canvas.getContext('2d');
ctx.drawImage(img, 0, 0);
const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
const colours = new Set();
const background = (data[0] << 16) | (data[1] << 8) | data[2];
let samples = 0, inked = 0;
for (let i = 0; i < data.length; i += 4 * 7) {
    const colour = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    colours.add(colour);
    samples += 1;
    if (colour !== background) inked += 1;
}
return {src: img.src, width: img.naturalWidth, height: img.naturalHeight, colours: colours.size, inked: inked / samples};"""


def post_json(url, value):
    response = requests.post(url, data=json.dumps(value), timeout=10)
    response.raise_for_status()
    return response


# Requests the frontend makes that may fail by design (ComfyUI answers them 404 too): optional
# user stylesheets, legacy user templates, empty workflow/subgraph folders, the template logo
# list, and the workflows sidebar's optional ordering file (workflows/.index.json).
OPTIONAL_PATHS = {"/user.css", "/api/userdata/user.css", "/api/userdata/comfy.templates.json",
                  "/templates/index_logo.json", "/api/userdata/workflows%2F.index.json"}
OPTIONAL_USERDATA_DIRS = {"workflows", "subgraphs"}


def same_origin_problems(base, network):
    """Same-origin requests that failed or answered >= 400, minus the documented optional ones."""
    origin = urllib.parse.urlsplit(base)
    problems = []
    for request in network:
        url = urllib.parse.urlsplit(request.get("url", ""))
        if (url.scheme, url.netloc) not in {(origin.scheme, origin.netloc), ("ws", origin.netloc)}:
            continue  # outside addresses (release notes, model sizes) fail offline by design
        if url.path in OPTIONAL_PATHS:
            continue
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/api/userdata" and set(query.get("dir", [])) <= OPTIONAL_USERDATA_DIRS:
            continue
        status = request.get("status")
        if status is not None:
            # Answered: only the status counts (a response read and then dropped is "canceled").
            if status >= 400:
                problems.append(request)
        elif request.get("failed") and not request.get("canceled"):
            problems.append(request)  # no answer at all (connection refused, reset)
    return problems


def our_console_errors(base, console):
    """Console errors caused by our server or our extension (not outside addresses, not optional 404s)."""
    errors = []
    for entry in console:
        message = entry.get("message", "")
        if "/extensions/weightlens/" in message and entry["level"] in ("SEVERE", "WARNING"):
            errors.append(entry)
            continue
        if entry["level"] != "SEVERE":
            continue
        if entry.get("source") == "network":
            url = message.split(" ", 1)[0]
            parts = urllib.parse.urlsplit(url)
            if not url.startswith(base):
                continue
            if parts.path in OPTIONAL_PATHS:
                continue
            if parts.path == "/api/userdata" and set(urllib.parse.parse_qs(parts.query).get("dir", [])) <= OPTIONAL_USERDATA_DIRS:
                continue
        errors.append(entry)
    return errors
