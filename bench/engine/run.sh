#!/usr/bin/env bash
# Engine benchmark: the Swift engine vs numpy/OpenBLAS (matrix products) and scikit-learn's
# randomized_svd (top-16 SVD), measured in alternating rounds in one run and printed as ratios,
# once per kernel path; then (with --inspect) `weightlens inspect --top-k 16` as a user runs it
# against numpy's randomized SVD on the same layers. See docs/BENCHMARKS.md.
#
#   bench/engine/run.sh                    every kernel path this CPU supports, forced in turn
#   KERNELS=avx2 bench/engine/run.sh       only the named paths (WEIGHTLENS_KERNELS values)
#   bench/engine/run.sh --inspect          also the whole `inspect` command on a full-size SDXL f16
#                                          (bench/out/sdxl_full_f16.safetensors, generated when missing)
#
# One plain `swift build -c release`: the binary picks its kernels at run time, so no build flags.
# Needs python3 with numpy, scikit-learn and threadpoolctl. Both sides use $THREADS (2) threads.
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS="${THREADS:-2}"
ROUNDS="${ROUNDS:-3}"
WORKDIR="${WORKDIR:-${TMPDIR:-/tmp}/weightlens-bench-engine}"
inspect=0
[ "${1:-}" = "--inspect" ] && inspect=1

flags="$(grep -m1 '^flags' /proc/cpuinfo | grep -oE ' (avx512f|avx512bw|avx512vl|avx512dq|avx2|fma|f16c)\b' | xargs)"
echo "== hardware: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, flags: $flags; load $(cut -d' ' -f1-3 /proc/loadavg)"
swift build -c release --product weightlens-bench >/dev/null
bin="$(swift build -c release --show-bin-path)/weightlens-bench"
paths="${KERNELS:-$("$bin" --paths)}"
echo "== kernel paths: $paths"
rm -f "$WORKDIR"/reference-*.json "$WORKDIR"/engine-*.json
python3 bench/engine/reference.py prepare "$WORKDIR"

# numpy's OpenBLAS at its own best (AVX-512 kernels here), and forced to the instruction set of
# each of our paths, so each path is also compared with OpenBLAS on equal hardware.
coretype() { case "$1" in avx512) echo best ;; avx2) echo Haswell ;; baseline) echo Prescott ;; *) echo best ;; esac; }
numpy() {   # numpy ROUND CORETYPE
    if [ "$2" = best ]; then
        env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$THREADS" \
            python3 bench/engine/reference.py measure "$WORKDIR" "$THREADS" "$1" best
    else
        env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE="$2" OPENBLAS_NUM_THREADS="$THREADS" \
            python3 bench/engine/reference.py measure "$WORKDIR" "$THREADS" "$1" "$2"
    fi
}
for round in $(seq 1 "$ROUNDS"); do
    echo "== round $round/$ROUNDS (load $(cut -d' ' -f1 /proc/loadavg))"
    numpy "$round" best
    for path in $paths; do
        ct="$(coretype "$path")"
        [ "$ct" != best ] && numpy "$round" "$ct"
        WEIGHTLENS_KERNELS="$path" "$bin" "$WORKDIR" "$round"
    done
done
python3 bench/engine/reference.py summarize "$WORKDIR"

if [ "$inspect" = 1 ]; then
    swift build -c release --product weightlens >/dev/null
    cli="$(swift build -c release --show-bin-path)/weightlens"
    ckpt=bench/out/sdxl_full_f16.safetensors
    if [ ! -f "$ckpt" ]; then
        mkdir -p bench/out
        "$cli" make-checkpoint --layout sdxl --scale 1 --dtype f16 --parts all --out "$ckpt" >&2
    fi
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$THREADS" \
        python3 bench/engine/reference.py inspect "$WORKDIR" "$THREADS" "$cli" "$ckpt" $paths
fi
