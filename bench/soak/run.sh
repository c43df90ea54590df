#!/usr/bin/env bash
# Soak: the release server on loopback under a bounded mixed load for MINUTES (default 30).
#   bash bench/soak/run.sh [MINUTES]
# Needs a full-size SDXL checkpoint: made once by `weightlens make-checkpoint --layout sdxl
# --scale 1` into bench/out/ (gitignored, 6.9 GB; SOAK_CHECKPOINT=FILE uses another file).
# Extra arguments after MINUTES go to soak.py (--ws-clients N, --slow-readers N, --stalled N).
# Last line: `soak: P prompts, F finished, L lost, RSS a→b MB, fds a→b, p99 X ms`; the exit status
# is non-zero when a prompt was lost or RSS / open fds kept growing after warm-up.
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES="${1:-30}"
shift || true
scratch=(--scratch-path "${SCRATCH_PATH:-.build}")
if [ -z "${WEIGHTLENS_BIN:-}" ]; then
    echo "== swift build -c release" >&2
    swift build -c release "${scratch[@]}" --product weightlens >&2
    WEIGHTLENS_BIN="$(swift build -c release "${scratch[@]}" --show-bin-path)/weightlens"
fi
ckpt="${SOAK_CHECKPOINT:-bench/out/sdxl_full_f16.safetensors}"
if [ ! -f "$ckpt" ]; then
    mkdir -p "$(dirname "$ckpt")"
    "$WEIGHTLENS_BIN" make-checkpoint --layout sdxl --scale 1 --dtype f16 --parts all --out "$ckpt" >&2
fi
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] && python=.venv/bin/python
"$python" -c "import requests, websocket" 2>/dev/null || {
    echo "soak needs the Python test clients: source scripts/lib/deps.sh; ensure_test_deps" >&2; exit 1; }
echo "== $("$WEIGHTLENS_BIN" --version), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
exec "$python" bench/soak/soak.py --bin "$WEIGHTLENS_BIN" --checkpoint "$ckpt" --minutes "$MINUTES" "$@"
