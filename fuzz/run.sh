#!/usr/bin/env bash
# libFuzzer targets, one per parser (docs/SECURITY.md, "Fuzzing").
#
#   bash fuzz/run.sh                    lists the targets
#   bash fuzz/run.sh TARGET SECONDS     builds TARGET and fuzzes it for SECONDS
#   bash fuzz/run.sh all SECONDS        every target in turn
#   bash fuzz/run.sh build [TARGET...]  only builds (every target by default)
#   bash fuzz/run.sh smoke [SECONDS]    every target: replay its seeds, then fuzz SECONDS (3) each;
#                                       the test command's step, so CI keeps the targets building
#
# Each harness fuzz/<Target>.swift says which module it needs (`// modules:`), its largest
# input (`// max_len:`) and any libFuzzer flags of its own (`// flags:`). The modules are compiled once with swiftc into static libraries, in
# dependency order, with `-sanitize=fuzzer,address` (Swift has no UBSan on Linux; its own
# overflow and bounds traps are always on, also in -O) and `-enable-testing`, so harnesses may
# `@testable import` a reader's internal entry points. The C kernels get clang's
# `-fsanitize=address,undefined`. A library is rebuilt only when a source of it changed.
#
# Seeds: fuzz/corpus/<Target>/ (small files, from the fixtures and hand-made hostile cases;
# fuzz/make_seeds.py writes the generated ones) and fuzz/regressions/<Target>/ (every input
# that ever crashed; Tests/*/FuzzCorpusReplayTests replay both through the real readers).
# Dictionaries: fuzz/dict/<Target>.dict. What the fuzzer adds goes to fuzz/out/corpus-<Target>/,
# crashes to fuzz/out/<Target>-crash-*.
#
# Environment: FUZZ_TARGETS ("A B": the targets `all` and `smoke` run), FUZZ_NO_BUILD=1 (use the
# built binaries as they are), FUZZ_JOBS (parallel libFuzzer jobs, default 1), FUZZ_FLAGS (extra libFuzzer flags),
# FUZZ_TIMEOUT (seconds per input before libFuzzer calls it a hang, default 10: on a starved
# machine smaller values report false hangs; re-run any timeout input alone).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="fuzz/out"
LIBS="$OUT/lib"
mkdir -p "$LIBS"

targets() {
    if [ -n "${FUZZ_TARGETS:-}" ]; then echo "$FUZZ_TARGETS"; return; fi
    for f in fuzz/*Fuzz.swift; do basename "$f" .swift; done
}

if [ $# -eq 0 ]; then
    echo "fuzz targets (bash fuzz/run.sh TARGET SECONDS):"
    for t in $(targets); do
        printf '  %-24s %s\n' "$t" "$(sed -n 's|^// modules: ||p' "fuzz/$t.swift")"
    done
    exit 0
fi

# Swift modules: name and the modules it imports (the package's graph, Package.swift).
deps() {
    case "$1" in
        OrderedJSON|TensorCore|HTTPWire|CKernels) echo "" ;;
        Kernels) echo "CKernels" ;;
        Checkpoint) echo "TensorCore OrderedJSON CKernels" ;;
        ModelCatalog) echo "Checkpoint TensorCore OrderedJSON" ;;
        Analysis) echo "TensorCore CKernels Kernels" ;;
        Render) echo "TensorCore Analysis OrderedJSON CKernels" ;;
        LoRA) echo "Checkpoint ModelCatalog TensorCore Analysis" ;;
        LTNodes) echo "OrderedJSON ModelCatalog LoRA Checkpoint Analysis Render TensorCore" ;;
        *) echo "unknown module $1" >&2; exit 2 ;;
    esac
}

# Every module `$1` needs, dependencies first, each once.
closure() {
    local m d
    for d in $(deps "$1"); do closure "$d"; done
    echo "$1"
}
ordered() { local m; for m in "$@"; do closure "$m"; done | awk '!seen[$0]++'; }

BUILD_LOG="$OUT/build.log"
: >"$BUILD_LOG"

# Rebuild a library when it is missing or older than one of its sources or dependencies.
stale() {
    local lib="$1"; shift
    [ -f "$lib" ] || return 0
    [ -n "$(find "$@" -newer "$lib" -print -quit 2>/dev/null)" ]
}

build_module() {
    local m="$1" lib="$LIBS/lib$1.a"
    local deplibs=() d
    for d in $(deps "$m"); do deplibs+=("$LIBS/lib$d.a"); done
    if [ "$m" = CKernels ]; then
        stale "$lib" Sources/CKernels || return 0
        echo "   building CKernels (clang, address+undefined)"
        mkdir -p "$OUT/obj/CKernels" "$LIBS/CKernels"
        local c objs=()
        for c in Sources/CKernels/*.c; do
            local o="$OUT/obj/CKernels/$(basename "$c" .c).o"
            clang -c -O2 -ffp-contract=off -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined \
                -I Sources/CKernels/include "$c" -o "$o" 2>>"$BUILD_LOG" || { cat "$BUILD_LOG"; exit 1; }
            objs+=("$o")
        done
        rm -f "$lib"; ar rcs "$lib" "${objs[@]}"
        printf 'module CKernels {\n    header "%s"\n    export *\n}\n' "$PWD/Sources/CKernels/include/CKernels.h" \
            >"$LIBS/CKernels/module.modulemap"
        return 0
    fi
    stale "$lib" "Sources/$m" "${deplibs[@]}" || return 0
    echo "   building $m"
    nice -n 5 swiftc -O -wmo -swift-version 6 -sanitize=fuzzer,address -enable-testing -parse-as-library -package-name weightlens \
        -module-name "$m" -emit-module -emit-library -static \
        -I "$LIBS" -I "$LIBS/CKernels" -I Sources/CLibPNG \
        -emit-module-path "$LIBS/$m.swiftmodule" -o "$lib" $(find "Sources/$m" -name '*.swift' | sort) 2>>"$BUILD_LOG" \
        || { grep -v "Cannot export local symbol" "$BUILD_LOG"; exit 1; }
}

build_target() {
    local t="$1" src="fuzz/$1.swift"
    # FUZZ_NO_BUILD=1: run the binaries as they are (parallel long runs must not rebuild at once).
    [ -n "${FUZZ_NO_BUILD:-}" ] && [ -x "$OUT/$t" ] && return 0
    [ -f "$src" ] || { echo "no fuzz target $t (bash fuzz/run.sh lists them)" >&2; exit 2; }
    local mods; mods="$(ordered $(sed -n 's|^// modules: ||p' "$src"))"
    local m
    for m in $mods; do build_module "$m"; done
    # Static libraries link dependents first.
    local links=() system=()
    for m in $(echo "$mods" | tac); do links+=("-l$m"); done
    case " $(echo $mods) " in *" Render "*) system+=("-lpng16") ;; esac
    local bin="$OUT/$t"
    # ModelCatalog finds its bundled layouts in a `*_ModelCatalog.resources` folder beside the
    # executable (Manifest.resourceFolder), as in a SwiftPM build.
    case " $(echo $mods) " in *" ModelCatalog "*) ln -sfn ../../Sources/ModelCatalog "$OUT/WeightLens_ModelCatalog.resources" ;; esac
    if [ ! -x "$bin" ] || stale "$bin" "$src" $(for m in $mods; do echo "$LIBS/lib$m.a"; done); then
        echo "   linking $t"
        # ld warns about unexported sanitizer symbols; those lines are noise, real errors fail the build.
        nice -n 5 swiftc -O -swift-version 6 -sanitize=fuzzer,address -parse-as-library -package-name weightlens \
            -I "$LIBS" -I "$LIBS/CKernels" -I Sources/CLibPNG -L "$LIBS" "$src" "${links[@]}" "${system[@]}" \
            -o "$bin" 2>>"$BUILD_LOG" || { grep -v "Cannot export local symbol" "$BUILD_LOG"; exit 1; }
    fi
}

max_len() { sed -n 's|^// max_len: ||p' "fuzz/$1.swift"; }

# Fuzzes $1 for $2 seconds; prints libFuzzer's last status line. Non-zero on a finding.
run_target() {
    local t="$1" secs="$2" bin="$OUT/$1"
    local work="$OUT/corpus-$t" dict=() seeds=() jobs=()
    mkdir -p "$work"
    # -jobs makes libFuzzer fork workers that log to fuzz-N.log: only when asked for.
    [ "${FUZZ_JOBS:-1}" -gt 1 ] && jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
    [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
    for d in "fuzz/corpus/$t" "fuzz/regressions/$t"; do [ -d "$d" ] && seeds+=("$d"); done
    local log="$OUT/$t.log"
    echo "== $t for ${secs}s"
    # Swift's own crash handler reads freed memory while it symbolicates, which AddressSanitizer
    # then reports instead of the real trap: let libFuzzer report the crash.
    export SWIFT_BACKTRACE=enable=no
    # -malloc_limit_mb: no single allocation over 512 MB (the memory bound per input). The RSS limit
    # is higher: AddressSanitizer alone (shadow memory, quarantine) holds 250-300 MB.
    if ! "$bin" -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout="${FUZZ_TIMEOUT:-10}" \
            -rss_limit_mb=1536 -malloc_limit_mb=512 -print_final_stats=1 \
            "${jobs[@]}" "${dict[@]}" $(sed -n 's|^// flags: ||p' "fuzz/$t.swift") ${FUZZ_FLAGS:-} \
            -artifact_prefix="$OUT/$t-" "$work" "${seeds[@]}" >"$log" 2>&1; then
        echo "!! $t found a problem: see $log and $OUT/$t-*"
        grep -m3 -E "ERROR|Fatal error|panic|==.*==" "$log" || true
        return 1
    fi
    grep -E "^#[0-9]+" "$log" | tail -n 1 || true
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$log" | tr '\n' ' '; echo
}

status=0
case "$1" in
    build)
        shift
        # Every target when none is named (one word each: "${@:-...}" would make the list one word).
        list=("$@")
        [ ${#list[@]} -gt 0 ] || read -r -a list <<<"$(targets | tr '\n' ' ')"
        for t in "${list[@]}"; do build_target "$t"; done
        ;;
    smoke)
        secs="${2:-3}"
        for t in $(targets); do build_target "$t"; done
        for t in $(targets); do
            # A fresh working folder: the smoke checks the seeds and a few seconds of mutation.
            rm -rf "$OUT/corpus-$t"
            run_target "$t" "$secs" || status=1
        done
        ;;
    all)
        secs="${2:?seconds}"
        for t in $(targets); do build_target "$t"; run_target "$t" "$secs" || status=1; done
        ;;
    *)
        secs="${2:?usage: bash fuzz/run.sh TARGET SECONDS}"
        # libFuzzer reads -max_total_time=0 as "no limit".
        [ "$secs" -gt 0 ] || { echo "SECONDS must be at least 1" >&2; exit 2; }
        build_target "$1"
        run_target "$1" "$secs" || status=1
        ;;
esac
exit $status
