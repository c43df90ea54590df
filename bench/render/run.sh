#!/usr/bin/env bash
# Render benchmark: full-size SDXL previews end to end (read + analysis + draw + PNG), best of N,
# printed with ratios against the original Python node. See docs/BENCHMARKS.md.
#
#   bench/render/run.sh [REPEATS]
#   KERNELS="avx512 avx2 baseline" bench/render/run.sh 5    # each forced kernel path in turn
#
# Needs a full-size synthetic SDXL U-Net at bench/out/sdxl_unet_f16.safetensors (5.1 GB, gitignored;
# CKPT=… names another, e.g. the full checkpoint); generated with `weightlens make-checkpoint` when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEATS="${1:-5}"
CKPT="${CKPT:-bench/out/sdxl_unet_f16.safetensors}"
mkdir -p bench/out/render
echo "== hardware"
grep -m1 "model name" /proc/cpuinfo || true
# The plain release build, as scripts/serve and the Dockerfile make it; the kernel path is chosen
# at run time (best for this CPU unless KERNELS forces paths).
SCRATCH="${SCRATCH_PATH:-.build}"
echo "cores: $(nproc), build: swift build -c release, CPU flags: $(grep -m1 '^flags' /proc/cpuinfo | grep -oE ' (avx512f|avx512bw|avx512vl|avx2|fma|f16c)\b' | xargs)"
if [ ! -f "$CKPT" ]; then
    echo "== generating $CKPT"
    swift build -c release --scratch-path "$SCRATCH" --product weightlens >/dev/null
    "$SCRATCH"/release/weightlens make-checkpoint --layout sdxl --scale 1 --parts unet --out "$CKPT"
fi
swift build -c release --scratch-path "$SCRATCH" --product weightlens-render-bench >/dev/null
if [ -z "${KERNELS:-}" ]; then
    "$SCRATCH"/release/weightlens-render-bench "$CKPT" "$REPEATS" bench/out/render
else
    for path in $KERNELS; do
        WEIGHTLENS_KERNELS="$path" "$SCRATCH"/release/weightlens-render-bench "$CKPT" "$REPEATS" bench/out/render
    done
fi
