# Shared by scripts/serve and scripts/test: install what the build and the tests need,
# only when it is missing, so repeated runs cost nothing.

apt_install() {
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing Debian packages: ${missing[*]}"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_build_deps() {
    command -v swift >/dev/null || { echo "swift is not on PATH: install a Swift 6.3 toolchain first" >&2; exit 1; }
    apt_install libpng-dev libssl-dev zlib1g-dev pkg-config
}

# A project-local virtualenv keeps the Python test clients off the system interpreter.
ensure_test_deps() {
    apt_install curl openssl
    PYTHON=".venv/bin/python"
    if [ ! -x "$PYTHON" ]; then
        python3 -m venv .venv
    fi
    if ! "$PYTHON" -c "import requests, websocket, numpy, pytest" 2>/dev/null; then
        "$PYTHON" -m pip install -q --disable-pip-version-check requests websocket-client numpy pytest
    fi
    # The power-law fitter WeightWatcher uses, for LTModelOverview's alpha (Tests/e2e). 1.5: 2.0
    # bounds alpha to (0, 3) by default and refits outside (1.5, 3], which WeightWatcher's heavy
    # tails exceed. It pulls scipy, mpmath and matplotlib (imported by its plotting code).
    if ! "$PYTHON" -c "import powerlaw, sys; sys.exit(powerlaw.__version__ != '1.5')" 2>/dev/null; then
        "$PYTHON" -m pip install -q --disable-pip-version-check "powerlaw==1.5"
    fi
    # llama.cpp's GGUF package: the GGUF e2e test writes its files with it and compares with its
    # dequantization (pure Python over numpy; pulls pyyaml, requests and tqdm).
    if ! "$PYTHON" -c "import gguf, importlib.metadata as m, sys; sys.exit(m.version('gguf') != '0.19.0')" 2>/dev/null; then
        "$PYTHON" -m pip install -q --disable-pip-version-check "gguf==0.19.0"
    fi
    # The safetensors package (numpy API): the browser tests and scripts/make-pictures write a
    # kohya-named LoRA with it (Tests/pysupport/lora_support.py) and read checkpoints back.
    if ! "$PYTHON" -c "import safetensors, sys; sys.exit(safetensors.__version__ != '0.8.0')" 2>/dev/null; then
        "$PYTHON" -m pip install -q --disable-pip-version-check "safetensors==0.8.0"
    fi
    export PYTHON
}

# Browser tests: Debian's headless Chromium and its matching chromedriver, selenium in .venv.
# Call after ensure_test_deps (it needs $PYTHON).
ensure_browser_deps() {
    apt_install chromium chromium-driver
    if ! "$PYTHON" -c "import selenium" 2>/dev/null; then
        "$PYTHON" -m pip install -q --disable-pip-version-check selenium
    fi
}
