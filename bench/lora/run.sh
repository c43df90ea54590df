#!/usr/bin/env bash
# LoRA inspection benchmark (issue 13): `weightlens lora` of a full-size SDXL LoRA, rank 128 on
# every attention and convolution layer of the U-Net (773 modules, 389 M factor values, 0.78 GB in
# fp16; written here by make_sdxl_lora.py under kohya's names), alone and against a full-size SDXL
# U-Net base (fp16, 5.1 GB, `weightlens make-checkpoint`), next to a plain read of the same files
# in the same run, all from the page cache. Each run reports wall, user and sys time (GNU time);
# wall is the best of RUNS. On a shared machine compare CPU times and same-run ratios.
#
# Usage: bench/lora/run.sh                        (release build, then the runs)
#        WEIGHTLENS_BIN=path/to/weightlens bench/lora/run.sh   (skip the build)
#        BASE=path/to/sdxl_unet_f16.safetensors bench/lora/run.sh   (an existing base U-Net)
#        RANK=32 bench/lora/run.sh                (another rank; the target is for 128)
# Then the node itself through the API (bench/lora/node.py: `weightlens serve` on loopback, RUNS
# prompts of LTLoraInspect alone, each under another lora_name so none is answered from cache).
# Target (issue 13): `weightlens lora FILE --json` and LTLoraInspect <= 2 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=bench/out
mkdir -p "$OUT"
RUNS=${RUNS:-3}
RANK=${RANK:-128}

if [ -z "${WEIGHTLENS_BIN:-}" ]; then
  swift build -c release --product weightlens
  BIN="$(swift build -c release --show-bin-path)/weightlens"
else
  BIN=$WEIGHTLENS_BIN
fi
[ -x /usr/bin/time ] || { echo "GNU time (/usr/bin/time) is needed: apt-get install time" >&2; exit 1; }

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, kernels: $("$BIN" --version | sed 's/.*kernels: //'); load: $(cut -d' ' -f1-3 /proc/loadavg)"

LORA=$OUT/sdxl_lora_r${RANK}.safetensors
BASE=${BASE:-$OUT/sdxl_unet_f16.safetensors}
[ -f "$LORA" ] || python3 bench/lora/make_sdxl_lora.py "$LORA" --rank "$RANK"
[ -f "$BASE" ] || "$BIN" make-checkpoint --layout sdxl --scale 1 --dtype f16 --parts unet --out "$BASE"
echo "files: $LORA ($(stat -Lc %s "$LORA") bytes), base $BASE ($(stat -Lc %s "$BASE") bytes)"

# Runs "$@" with stdout to /dev/null; prints "<wall s> <user s> <sys s> <max RSS KB>".
measure() {
  local t
  t=$(mktemp)
  /usr/bin/time -f "%e %U %S %M" -o "$t" "$@" >/dev/null
  cat "$t"
  rm -f "$t"
}

# best_of CMD...: the lowest-wall run of RUNS (uses measure above).
source bench/lib/best_of.sh

echo "== warm the page cache"
cat "$LORA" "$BASE" > /dev/null
echo "== runs (best of $RUNS; load $(cut -d' ' -f1-3 /proc/loadavg))"
R1=$(best_of cat "$LORA")
R2=$(best_of sh -c "cat '$LORA' '$BASE'")
L1=$(best_of "$BIN" lora "$LORA" --json)
L2=$(best_of "$BIN" lora "$LORA" --base "$BASE" --json)
row() { # label, measurement, reference measurement
  read -r w u s m <<<"$2"
  read -r rw ru rs _ <<<"$3"
  printf "%-44s wall %7.2f s  user %7.2f s  sys %5.2f s  maxRSS %5d MB  wall/read %6.1f  cpu/read-cpu %6.1f\n" \
    "$1" "$w" "$u" "$s" $((m / 1024)) "$(awk -v a="$w" -v b="$rw" 'BEGIN { print a / (b > 0.005 ? b : 0.005) }')" \
    "$(awk -v a="$u" -v b="$s" -v c="$ru" -v d="$rs" 'BEGIN { x = c + d; print (a + b) / (x > 0.005 ? x : 0.005) }')"
}
row "cat LORA > /dev/null" "$R1" "$R1"
row "cat LORA BASE > /dev/null" "$R2" "$R2"
row "weightlens lora LORA --json" "$L1" "$R1"
row "weightlens lora LORA --base BASE --json" "$L2" "$R2"
echo "== the node through the API ($RUNS prompts)"
python3 bench/lora/node.py "$BIN" "$LORA" "$RUNS"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "target: weightlens lora LORA --json <= 2 s, LTLoraInspect <= 2 s"
