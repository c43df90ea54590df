#!/usr/bin/env bash
# Render benchmark: full-size SDXL previews end to end (read + analysis + draw + PNG), best of N,
# printed with ratios against the original Python node. See docs/BENCHMARKS.md.
#
#   bench/render/run.sh [REPEATS]
#
# Needs a full-size synthetic SDXL U-Net at bench/out/sdxl_unet_f16.safetensors (5.1 GB, gitignored);
# it is generated with `weightlens make-checkpoint` when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEATS="${1:-5}"
CKPT=bench/out/sdxl_unet_f16.safetensors
mkdir -p bench/out/render
echo "== hardware"
grep -m1 "model name" /proc/cpuinfo || true
# Built as scripts/serve builds: native code for this CPU unless WEIGHTLENS_NATIVE is set.
source scripts/lib/deps.sh
if [ -z "${WEIGHTLENS_NATIVE+set}" ]; then WEIGHTLENS_NATIVE="$(native_build_mode)"; fi
export WEIGHTLENS_NATIVE
SCRATCH="${SCRATCH_PATH:-.build-bench-native}"
echo "cores: $(nproc), build: release, WEIGHTLENS_NATIVE=${WEIGHTLENS_NATIVE:-portable}"
if [ ! -f "$CKPT" ]; then
    echo "== generating $CKPT"
    swift build -c release --scratch-path "$SCRATCH" --product weightlens >/dev/null
    "$SCRATCH"/release/weightlens make-checkpoint --layout sdxl --scale 1 --parts unet --out "$CKPT"
fi
swift build -c release --scratch-path "$SCRATCH" --product weightlens-render-bench >/dev/null
"$SCRATCH"/release/weightlens-render-bench "$CKPT" "$REPEATS" bench/out/render
