#!/usr/bin/env bash
# Model-overview benchmark: LTModelOverview over a whole full-size SDXL UNet (generated once into
# bench/out/, gitignored), each analysis node on the four reference layers through the API, and
# WeightWatcher 0.7.7 against our alpha on input_blocks.4 in the same run. See docs/BENCHMARKS.md.
#
#   bench/overview/run.sh                  everything (about 3 minutes on 2 cores)
#   bench/overview/run.sh --skip-whole     without the whole-UNet overviews
#   ROUNDS=5 bench/overview/run.sh         more API rounds
#
# Python side: a virtualenv in bench/out/venv with weightwatcher 0.7.7 (numpy, scipy, pandas,
# powerlaw, safetensors come with it), requests and websocket-client.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== swift build -c release" >&2
swift build -c release --product weightlens >&2
bin="$(swift build -c release --show-bin-path)/weightlens"
ckpt=bench/out/sdxl_unet_f16.safetensors
if [ ! -f "$ckpt" ]; then
    mkdir -p bench/out
    "$bin" make-checkpoint --layout sdxl --scale 1 --dtype f16 --parts unet --out "$ckpt" >&2
fi
venv=bench/out/venv
if ! "$venv/bin/python" -c "import weightwatcher, requests, websocket" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "weightwatcher==0.7.7" requests websocket-client
fi
echo "== $("$bin" --version)"
"$venv/bin/python" bench/overview/bench_overview.py --bin "$bin" --checkpoint "$ckpt" --rounds "${ROUNDS:-3}" "$@"
