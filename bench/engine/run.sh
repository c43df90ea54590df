#!/usr/bin/env bash
# Engine benchmark: the Swift engine vs numpy/OpenBLAS (matrix products) and scikit-learn's
# randomized_svd (top-16 SVD), measured in alternating rounds in one run and printed as ratios.
# See docs/BENCHMARKS.md.
#
#   bench/engine/run.sh                  WEIGHTLENS_NATIVE=avx512 build (x86-64-v4; this machine has it,
#                                        and so does numpy's OpenBLAS kernel choice)
#   bench/engine/run.sh --native         WEIGHTLENS_NATIVE=1 build (x86-64-v3: AVX2 + FMA)
#   bench/engine/run.sh --portable       the default portable build
#
# Needs python3 with numpy, scikit-learn and threadpoolctl. Both sides use $THREADS (2) threads.
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS="${THREADS:-2}"
ROUNDS="${ROUNDS:-3}"
WORKDIR="${WORKDIR:-${TMPDIR:-/tmp}/weightlens-bench-engine}"
mode=avx512
case "${1:-}" in
    --native) mode=native ;;
    --portable) mode=portable ;;
esac

echo "== hardware: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
case "$mode" in
    avx512) flag=avx512 ;;
    native) flag=1 ;;
    *) flag= ;;
esac
WEIGHTLENS_NATIVE="$flag" swift build -c release --scratch-path ".build-bench-$mode" --product weightlens-bench >/dev/null
bin=".build-bench-$mode/release/weightlens-bench"
rm -f "$WORKDIR"/reference-*.json "$WORKDIR"/engine-*.json
python3 bench/engine/reference.py prepare "$WORKDIR"
for round in $(seq 1 "$ROUNDS"); do
    echo "== round $round/$ROUNDS (load $(cut -d' ' -f1 /proc/loadavg))"
    # OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be pinned in this environment; let OpenBLAS pick its
    # own kernels so the reference is at its best.
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$THREADS" \
        python3 bench/engine/reference.py measure "$WORKDIR" "$THREADS" "$round"
    "$bin" "$WORKDIR" "$round"
done
python3 bench/engine/reference.py summarize "$WORKDIR"
