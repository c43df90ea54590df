#!/usr/bin/env bash
# Model comparison benchmark (issue 13): `weightlens diff` of two full-size SDXL U-Nets (f16,
# 2.6 G parameters, 5.1 GB each; written here by `weightlens make-checkpoint` with two seeds) next
# to a plain sequential read of both files (`cat A B > /dev/null`) measured in the same run, with
# the files in the page cache for both. Wall time is the best of RUNS; peak anonymous memory
# (RssAnon, sampled from /proc every 20 ms) and peak RSS are reported for each diff.
#
# Usage: bench/compare/run.sh                 (release build, then the runs)
#        WEIGHTLENS_BIN=path/to/weightlens bench/compare/run.sh   (skip the build)
#        REGENERATE=1 bench/compare/run.sh    (rewrite the two 5.1 GB files)
#        SCALE=4 bench/compare/run.sh         (smaller files for a quick check; the targets are for 1)
# Targets (issue 13): diff <= 3x the plain read, RssAnon <= 300 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=bench/out
mkdir -p "$OUT"
RUNS=${RUNS:-3}
SCALE=${SCALE:-1}

if [ -z "${WEIGHTLENS_BIN:-}" ]; then
  swift build -c release --product weightlens
  BIN="$(swift build -c release --show-bin-path)/weightlens"
else
  BIN=$WEIGHTLENS_BIN
fi

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, kernels: $("$BIN" --version | sed 's/.*kernels: //'); load: $(cut -d' ' -f1-3 /proc/loadavg)"

A=$OUT/compare_sdxl_s${SCALE}_seed1.safetensors
B=$OUT/compare_sdxl_s${SCALE}_seed2.safetensors
for pair in "1 $A" "2 $B"; do
  set -- $pair
  if [ ! -f "$2" ] || [ "${REGENERATE:-0}" = 1 ]; then
    "$BIN" make-checkpoint --layout sdxl --scale "$SCALE" --dtype f16 --parts unet --seed "$1" --out "$2"
  fi
done
BYTES=$(( $(stat -c %s "$A") + $(stat -c %s "$B") ))
echo "files: $A, $B ($BYTES bytes together)"

# Runs "$@" with stdout to /dev/null; prints "<wall s> <peak RssAnon KB> <peak RSS KB>".
measure() {
  local start end pid peak_anon=0 peak_rss=0 anon rss
  start=$(date +%s.%N)
  "$@" >/dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if [ -r "/proc/$pid/status" ]; then
      anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
      rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
      [ -n "$anon" ] && [ "$anon" -gt "$peak_anon" ] && peak_anon=$anon
      [ -n "$rss" ] && [ "$rss" -gt "$peak_rss" ] && peak_rss=$rss
    fi
    sleep 0.02
  done
  wait "$pid"
  end=$(date +%s.%N)
  echo "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }') $peak_anon $peak_rss"
}

# best_of CMD...: the lowest-wall run of RUNS (uses measure above).
source bench/lib/best_of.sh

echo "== warm the page cache"
cat "$A" "$B" > /dev/null
echo "== runs (best of $RUNS)"
R=$(best_of sh -c "cat '$A' '$B'")
D=$(best_of "$BIN" diff "$A" "$B" --json)
S=$(best_of "$BIN" diff "$A" "$B" --json --metric delta_spectral_norm)
read -r rw _ _ <<<"$R"
read -r dw da dr <<<"$D"
read -r sw sa sr <<<"$S"
printf "reference: cat A B > /dev/null                 wall %7.3f s  (%.1f GB/s)\n" "$rw" "$(awk -v b="$BYTES" -v t="$rw" 'BEGIN { print b / t / 1e9 }')"
printf "weightlens diff A B --json                     wall %7.3f s  RssAnon %4d MB  peak RSS %5d MB  ratio %.2f (target <= 3)\n" \
  "$dw" $((da / 1024)) $((dr / 1024)) "$(awk -v a="$dw" -v b="$rw" 'BEGIN { print a / b }')"
printf "weightlens diff --metric delta_spectral_norm  wall %7.3f s  RssAnon %4d MB  peak RSS %5d MB  ratio %.2f\n" \
  "$sw" $((sa / 1024)) $((sr / 1024)) "$(awk -v a="$sw" -v b="$rw" 'BEGIN { print a / b }')"
"$BIN" diff "$A" "$B" --top 3 | head -5
