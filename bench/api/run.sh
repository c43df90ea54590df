#!/usr/bin/env bash
# API benchmark: release build, full-size SDXL checkpoint (generated once into bench/out/, gitignored),
# then bench_api.py against `weightlens serve`. Extra arguments go to bench_api.py (e.g. --runs 3).
# KERNELS="avx512 avx2 baseline" runs it once per forced kernel path (WEIGHTLENS_KERNELS).
set -euo pipefail
cd "$(dirname "$0")/../.."
# Built as scripts/serve builds it: the plain release build; kernels are chosen at run time.
scratch=(--scratch-path "${SCRATCH_PATH:-.build}")
echo "== swift build -c release" >&2
swift build -c release "${scratch[@]}" --product weightlens >&2
bin="$(swift build -c release "${scratch[@]}" --show-bin-path)/weightlens"
ckpt=bench/out/sdxl_full_f16.safetensors
if [ ! -f "$ckpt" ]; then
    mkdir -p bench/out
    "$bin" make-checkpoint --layout sdxl --scale 1 --dtype f16 --parts all --out "$ckpt" >&2
fi
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] && python=.venv/bin/python
for path in ${KERNELS:-best}; do
    if [ "$path" = best ]; then unset WEIGHTLENS_KERNELS; else export WEIGHTLENS_KERNELS="$path"; fi
    echo "== $("$bin" --version)"
    "$python" bench/api/bench_api.py --bin "$bin" --checkpoint "$ckpt" "$@"
done
