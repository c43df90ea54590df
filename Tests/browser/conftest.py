"""Browser tests: a real `weightlens serve` driven through headless Chromium by selenium.

Environment:
  WEIGHTLENS_BIN            the weightlens binary (default: `swift build --show-bin-path`/weightlens)
  WEIGHTLENS_FRONTEND_ROOT  static folder of the official ComfyUI frontend (scripts/lib/frontend.sh
                            installs it); without it the frontend test is skipped
  WEIGHTLENS_URL            test an already running server instead of starting one
  CHROMIUM, CHROMEDRIVER    browser and driver (default: Debian's /usr/bin/chromium, /usr/bin/chromedriver)

On failure each test leaves a screenshot, the page's console log and the network log in
out/browser/ (gitignored).
"""
import os

import pytest

from browserkit import Browser, Server
from model_files import ModelFiles


# Servers started for this session, by fixture name, so a test can be failed with a dead
# server's own output instead of a bare "connection refused".
_STARTED = {}


def _server(front_end_root, name, stock=False):
    """Yields the base URL of a fresh `weightlens serve` (or of WEIGHTLENS_URL when set).
    With `stock`, a LoRA and a GGUF are put in its model folders first (model_files.py)."""
    url = os.environ.get("WEIGHTLENS_URL")
    if url:
        yield url.rstrip("/")
        return
    server = Server(front_end_root)
    _STARTED[name] = server
    if stock:
        try:
            server.models = ModelFiles(server.base, server.binary)
        except BaseException:
            server.stop()
            raise
    try:
        yield server.url
    finally:
        server.save_log(name)
        server.stop()


@pytest.fixture(autouse=True)
def _servers_alive():
    """Before and after each test: every started server is still running."""
    for server in _STARTED.values():
        server.check_alive()
    yield
    for server in _STARTED.values():
        server.check_alive()


@pytest.fixture(scope="session")
def frontend_root():
    root = os.environ.get("WEIGHTLENS_FRONTEND_ROOT")
    if not root or not os.path.isfile(os.path.join(root, "index.html")):
        pytest.skip("WEIGHTLENS_FRONTEND_ROOT does not name an installed ComfyUI frontend")
    return root


@pytest.fixture(scope="session")
def frontend_server(frontend_root):
    # Every shipped workflow runs on this server (test_first_minutes), the LoRA and GGUF ones too.
    yield from _server(frontend_root, "frontend", stock=True)


@pytest.fixture(scope="session")
def viewer_server():
    # No frontend root: the built-in viewer is the page at / (and always at /viewer).
    yield from _server(None, "viewer")


@pytest.fixture(scope="session")
def viewer_base(viewer_server):
    """The base directory of the viewer server (its models/checkpoints), None for WEIGHTLENS_URL."""
    server = _STARTED.get("viewer")
    return server.base if server else None


@pytest.fixture(scope="session")
def frontend_base(frontend_server):
    """The base directory of the frontend server, None for WEIGHTLENS_URL."""
    server = _STARTED.get("frontend")
    return server.base if server else None


@pytest.fixture(scope="session")
def frontend_models(frontend_server):
    """The model files put into the frontend server's folders (ModelFiles); skips for WEIGHTLENS_URL."""
    server = _STARTED.get("frontend")
    if server is None:
        pytest.skip("WEIGHTLENS_URL: the tests cannot put model files into that server's folders")
    return server.models


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


@pytest.fixture
def browser(request):
    b = Browser()
    yield b
    report = getattr(request.node, "report_call", None)
    if report is None or report.failed:
        b.save_artifacts(request.node.name)
    b.quit()
