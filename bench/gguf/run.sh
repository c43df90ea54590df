#!/usr/bin/env bash
# GGUF benchmark (release build). Three parts, each with a reference measured in the same run:
#  1. dequantization of Flux's double_blocks.0.img_mlp.0 (12288 x 3072) in every GGML type
#     WeightLens reads: map + dequantize to Float32, best of N, against the plain F16 -> F32
#     conversion of the same tensor and against gguf-py's numpy dequantization of the same file;
#  2. a full-size Flux.1-dev diffusion model written as GGUF Q8_0 at bench time (make-checkpoint
#     --format gguf, 12.7 GB; reused when present, deleted afterwards unless KEEP=1): `weightlens layers` and
#     `weightlens render --view both` on a Q8_0 layer (wall, peak RSS), against a plain sequential
#     read of the whole file (cat > /dev/null);
#  3. through the API: UnetLoaderGGUF -> LTVisualizeWeights `both` on the Q4_K img_mlp.0 (target
#     <= 500 ms), against the same layer stored as F16 and a GET /prompt round trip.
#
#   bench/gguf/run.sh [REPEATS]          SKIP_FULL=1 skips part 2 (needs ~13 GB of disk).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEATS="${1:-5}"
OUT=bench/out/gguf
mkdir -p "$OUT"
if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq time >/dev/null; else
    echo "needs /usr/bin/time (Debian package 'time')" >&2; exit 1; fi
fi
source scripts/lib/deps.sh
ensure_test_deps >/dev/null

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
swift build -c release --product weightlens >/dev/null
swift build -c release --product weightlens-gguf-bench >/dev/null
BIN="$(swift build -c release --show-bin-path)"
echo "build: swift build -c release; $("$BIN/weightlens" --version)"

echo "== 1. dequantize 12288 x 3072 (37.7 M values), best of $REPEATS"
"$BIN/weightlens-gguf-bench" "$OUT" "$REPEATS" > "$OUT/swift.txt"
"$PYTHON" bench/gguf/numpy_dequant.py "$OUT" "$REPEATS" > "$OUT/numpy.txt"
printf "%-6s %10s %10s %12s %10s %12s %10s\n" type bytes "ms" "M values/s" "vs F16>F32" "gguf-py ms" "speed-up"
while read -r _ type ms rate bytes ratio; do
  np=$(awk -v t="$type" '$2 == t { print $3 }' "$OUT/numpy.txt")
  printf "%-6s %10d %10.1f %12.0f %10.2f %12.1f %9.1fx\n" "$type" "$bytes" "$ms" "$rate" "$ratio" "${np:-0}" \
    "$(awk -v a="${np:-0}" -v b="$ms" 'BEGIN { print (b > 0 ? a / b : 0) }')"
done < "$OUT/swift.txt"

measure() {   # "<wall s> <peak RSS KB>" of one run
  local log; log=$(mktemp)
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || true
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; w=s}
              /Maximum resident set size/ {r=$2} END {print w, r}' "$log"
  rm -f "$log"
}
best_of() {
  local best=""
  for _ in $(seq "$REPEATS"); do
    local r; r=$(measure "$@")
    if [ -z "$best" ] || awk -v a="${r%% *}" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then best=$r; fi
  done
  echo "$best"
}
report() { printf "%-44s wall %7.3f s  peak RSS %5d MB\n" "$1" "${2%% *}" $(( ${2##* } / 1024 )); }

if [ "${SKIP_FULL:-0}" != 1 ]; then
  FLUX=$OUT/flux1_dev_q8_0.gguf
  echo "== 2. full-size Flux.1-dev diffusion model, GGUF Q8_0"
  if [ ! -f "$FLUX" ] || [ "${REGENERATE:-0}" = 1 ]; then
    r=$(measure "$BIN/weightlens" make-checkpoint --layout flux --parts diffusion-model --format gguf --quant Q8_0 --out "$FLUX")
    echo "make-checkpoint: $(stat -c %s "$FLUX") bytes in ${r%% *} s, peak RSS $(( ${r##* } / 1024 )) MB"
  else
    echo "reusing $FLUX ($(stat -c %s "$FLUX") bytes; REGENERATE=1 to rewrite)"
  fi
  "$BIN/weightlens" layers "$FLUX" >/dev/null
  report "weightlens layers (target < 0.1 s, < 50 MB)" "$(best_of "$BIN/weightlens" layers "$FLUX")"
  report "weightlens layers --filter D18-S00 --json" "$(best_of "$BIN/weightlens" layers "$FLUX" --filter D18-S00 --json)"
  report "render --view both double_blocks.0.img_mlp.0" \
    "$(best_of "$BIN/weightlens" render "$FLUX" --layer double_blocks.0.img_mlp.0 --view both --out "$OUT/render.png")"
  report "reference: cat FILE > /dev/null (whole file)" "$(best_of cat "$FLUX")"
  [ "${KEEP:-0}" = 1 ] || rm -f "$FLUX"
fi

echo "== 3. API: UnetLoaderGGUF -> LTVisualizeWeights both, Q4_K 12288 x 3072"
"$PYTHON" bench/gguf/bench_api_gguf.py --bin "$BIN/weightlens" --model "$OUT/img_mlp0_Q4_K.gguf" \
  --reference "$OUT/img_mlp0_F16.gguf" --runs "$REPEATS"
