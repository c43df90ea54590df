#!/usr/bin/env bash
# Builds the libFuzzer targets with `swiftc -sanitize=fuzzer,address` and runs each for a bounded time.
#   bash fuzz/run.sh            (60 s per target)
#   FUZZ_SECONDS=10 bash fuzz/run.sh
# Seeds live in fuzz/corpus/<target>/. A crash leaves fuzz/out/crash-* behind; turn each into a
# regression test in Tests/HTTPWireTests/FuzzRegressionTests.swift before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
OUT="fuzz/out"
mkdir -p "$OUT"
SOURCES=(Sources/HTTPWire/*.swift)
# HTTPWire is compiled once into a static library with the sanitizers, as module `HTTPWire`,
# and each harness links against it.
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name HTTPWire -emit-module -emit-library -static \
    -emit-module-path "$OUT/HTTPWire.swiftmodule" -o "$OUT/libHTTPWire.a" "${SOURCES[@]}" 2>"$OUT/build.log" \
    || { cat "$OUT/build.log"; exit 1; }
status=0
for target in RequestParserFuzz WebSocketFrameFuzz; do
    bin="$OUT/$target"
    # ld.gold warns about unexported sanitizer symbols; those lines are noise, real errors fail the build.
    swiftc -O -sanitize=fuzzer,address -parse-as-library -I "$OUT" -L "$OUT" -lHTTPWire "fuzz/$target.swift" -o "$bin" 2>>"$OUT/build.log" \
        || { grep -v "Cannot export local symbol" "$OUT/build.log"; exit 1; }
    corpus="fuzz/corpus/$target"
    work="$OUT/corpus-$target"
    mkdir -p "$work"
    echo "== $target for ${SECONDS_PER_TARGET}s"
    if ! "$bin" -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 -timeout=5 -rss_limit_mb=1024 \
            -artifact_prefix="$OUT/$target-" "$work" "$corpus" 2>"$OUT/$target.log"; then
        echo "!! $target found a problem: see $OUT/$target.log and $OUT/$target-crash-*"
        status=1
    fi
    tail -n 2 "$OUT/$target.log"
done
exit $status
