#!/usr/bin/env bash
# Checkpoint benchmark: generate a full-size SDXL checkpoint (f16, all parts, 6.9 GB) with
# `weightlens make-checkpoint`, then time `weightlens layers` on it (wall time and peak RSS via
# /usr/bin/time -v), next to a reference measured in the same run: Python reading and parsing the
# same safetensors header (the least work any reader must do). Also times `layers` on pickle
# resource bombs built at the default limits (each must fail in < 1 s).
#
# Usage: bench/checkpoint/run.sh            (release build of the package, then the runs)
#        WEIGHTLENS_BIN=path/to/weightlens bench/checkpoint/run.sh   (skip the build)
#        REGENERATE=1 bench/checkpoint/run.sh (rewrite the 6.9 GB file even if it exists)
# Targets (issue 2): layers < 100 ms wall and < 50 MB peak RSS; generation well under a minute
# of CPU; hostile files fail in < 1 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=bench/out
mkdir -p "$OUT"
RUNS=${RUNS:-5}

if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq time >/dev/null; else
    echo "needs /usr/bin/time (Debian package 'time')" >&2; exit 1; fi
fi

if [ -z "${WEIGHTLENS_BIN:-}" ]; then
  swift build -c release --product weightlens
  BIN="$(swift build -c release --show-bin-path)/weightlens"
else
  BIN=$WEIGHTLENS_BIN
fi

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"

# Prints "<wall seconds> <peak RSS KB> <user+sys seconds>" for one run of the command.
measure() {
  local log
  log=$(mktemp)
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || true
  local wall rss user sys
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  user=$(awk -F': ' '/User time/ {print $2}' "$log")
  sys=$(awk -F': ' '/System time/ {print $2}' "$log")
  echo "$wall $rss $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')"
  rm -f "$log"
}

# best_of CMD...: the lowest-wall run of RUNS, "<wall> <rss> <cpu>" (uses measure above).
source bench/lib/best_of.sh

CKPT=$OUT/sdxl_full_f16.safetensors
echo "== make-checkpoint (SDXL, scale 1, f16, parts all)"
if [ ! -f "$CKPT" ] || [ "${REGENERATE:-0}" = 1 ]; then
  r=$(measure "$BIN" make-checkpoint --layout sdxl --scale 1 --dtype f16 --parts all --out "$CKPT")
  echo "generate: wall $(cut -d' ' -f1 <<<"$r") s, CPU $(cut -d' ' -f3 <<<"$r") s, peak RSS $(($(cut -d' ' -f2 <<<"$r") / 1024)) MB, $(stat -c %s "$CKPT") bytes"
  r=$(measure dd if=/dev/zero of="$OUT/zeros.bin" bs=1M count=$(( $(stat -c %s "$CKPT") / 1048576 )))
  rm -f "$OUT/zeros.bin"
  echo "reference (dd of the same size of zeros): wall $(cut -d' ' -f1 <<<"$r") s"
else
  echo "reusing $CKPT ($(stat -c %s "$CKPT") bytes; REGENERATE=1 to rewrite)"
fi

echo "== layers on $CKPT (best of $RUNS)"
"$BIN" layers "$CKPT" >/dev/null   # warm the page cache for the header
L=$(best_of "$BIN" layers "$CKPT")
J=$(best_of "$BIN" layers "$CKPT" --json)
P=$(best_of python3 -c 'import json,struct,sys; f=open(sys.argv[1],"rb"); n=struct.unpack("<Q",f.read(8))[0]; json.loads(f.read(n))' "$CKPT")
printf "weightlens layers         wall %6.3f s  CPU %6.3f s  peak RSS %4d MB  (target < 0.100 s, < 50 MB)\n" \
  "$(cut -d' ' -f1 <<<"$L")" "$(cut -d' ' -f3 <<<"$L")" $(( $(cut -d' ' -f2 <<<"$L") / 1024 ))
printf "weightlens layers --json  wall %6.3f s  CPU %6.3f s  peak RSS %4d MB\n" \
  "$(cut -d' ' -f1 <<<"$J")" "$(cut -d' ' -f3 <<<"$J")" $(( $(cut -d' ' -f2 <<<"$J") / 1024 ))
printf "reference: python3 json header parse  wall %6.3f s  CPU %6.3f s  peak RSS %4d MB\n" \
  "$(cut -d' ' -f1 <<<"$P")" "$(cut -d' ' -f3 <<<"$P")" $(( $(cut -d' ' -f2 <<<"$P") / 1024 ))
awk -v a="${L%% *}" -v b="${P%% *}" 'BEGIN { printf "ratio layers / reference (wall): %.2f\n", a / b }'
[ "$("$BIN" layers "$CKPT" | wc -l)" = 1050 ] && echo "layer count: 1050 (as LatentTools lists for SDXL)"

echo "== hostile pickles at the default limits (each must fail, < 1 s)"
python3 - "$OUT" <<'PY'
import struct, sys
out = sys.argv[1]
head = bytes([0x80,2,0x8a,10,0x6c,0xfc,0x9c,0x46,0xf9,0x20,0x6a,0xa8,0x50,0x19,0x2e, 0x80,2,0x4d,0xe9,3,0x2e, 0x80,2,0x7d,0x2e])
bombs = {
  "append": bytes([0x80,2,0x5d]) + bytes([0x4e,0x61]) * 2_100_000 + b".",
  "tuple1": bytes([0x80,2,0x4e]) + bytes([0x85]) * 2_100_000 + b".",
  "memo":   bytes([0x80,2,0x4e]) + b"".join(b"r" + struct.pack("<I", i) for i in range(600_000)) + b".",
  "dup":    bytes([0x80,2,0x4e]) + bytes([0x32]) * 600_000 + b".",
  "mark":   bytes([0x80,2]) + b"(" * 20_000 + b".",
}
for name, body in bombs.items():
    open(f"{out}/bomb_{name}.pt", "wb").write(head + body)
PY
for b in "$OUT"/bomb_*.pt; do
  r=$(measure "$BIN" layers "$b")
  msg=$("$BIN" layers "$b" 2>&1 >/dev/null || true)
  printf "%-18s wall %6.3f s  CPU %6.3f s  peak RSS %4d MB  %s\n" "$(basename "$b")" "$(cut -d' ' -f1 <<<"$r")" \
    "$(cut -d' ' -f3 <<<"$r")" $(( $(cut -d' ' -f2 <<<"$r") / 1024 )) "$msg"
done
