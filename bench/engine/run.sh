#!/usr/bin/env bash
# Engine benchmark: Swift engine vs numpy/OpenBLAS (products) and scikit-learn randomized_svd (top-16
# SVD), side by side in one run, printed as ratios. See docs/BENCHMARKS.md.
#
#   bench/engine/run.sh            native build (WEIGHTLENS_NATIVE=1: AVX2 + FMA)
#   bench/engine/run.sh --portable the default portable build, for comparison
#
# Needs python3 with numpy, scikit-learn and threadpoolctl. Uses 2 threads on both sides.
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS="${THREADS:-2}"
WORKDIR="${WORKDIR:-${TMPDIR:-/tmp}/weightlens-bench-engine}"
mode=native
if [ "${1:-}" = "--portable" ]; then mode=portable; fi

echo "== hardware"
grep -m1 "model name" /proc/cpuinfo || true
echo "cores: $(nproc), threads used: $THREADS, build: $mode"

echo "== reference (numpy $(python3 -c 'import numpy; print(numpy.__version__)'), OpenBLAS defaults restored)"
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be pinned in this environment; let OpenBLAS pick its own
# kernels for a fair comparison.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$THREADS" \
    python3 bench/engine/reference.py "$WORKDIR" "$THREADS"

echo "== swift engine"
if [ "$mode" = native ]; then
    WEIGHTLENS_NATIVE=1 swift build -c release --scratch-path .build-bench-native --product weightlens-bench >/dev/null
    bin=.build-bench-native/release/weightlens-bench
else
    swift build -c release --scratch-path .build-bench-portable --product weightlens-bench >/dev/null
    bin=.build-bench-portable/release/weightlens-bench
fi
"$bin" "$WORKDIR/reference.json"
