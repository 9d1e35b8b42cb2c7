#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (every parser that reads untrusted input) for a bounded
# time each, seeded from the shared test data, and fails on any crash, hang or runaway memory.
#
#   scripts/fuzz.sh [TARGET...]          all targets (`cargo fuzz list`) when none is named
#
# Environment (defaults in brackets):
#   FUZZ_SECONDS [10]      fuzzing time per target, after the seeds have run
#   FUZZ_RSS_MB [2048]     -rss_limit_mb: more memory than this is a finding
#   FUZZ_TIMEOUT [10]      -timeout: one input taking longer (seconds) is a finding
#   FUZZ_MAX_LEN [131072]  -max_len, and the size seed files are cut down to
#   FUZZ_SANITIZER [none]  `none` works on the stable toolchain; `address` needs nightly
#   RAMPART_TEST_DATA      the shared data the seeds come from [../shared/data]
#
# Works on stable Rust: with `--sanitizer none` cargo-fuzz passes no -Z flag (libFuzzer's
# coverage comes from stable -C passes/llvm-args). Seed corpora are made afresh in a temporary
# folder (fuzz/seeds.py) and deleted afterwards; a finding is kept under fuzz/artifacts/<target>/
# and printed (path, replay command, and the bytes in base64 when small).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export CARGO_INCREMENTAL=0

seconds=${FUZZ_SECONDS:-10}
rss_mb=${FUZZ_RSS_MB:-2048}
timeout_s=${FUZZ_TIMEOUT:-10}
max_len=${FUZZ_MAX_LEN:-131072}
sanitizer=${FUZZ_SANITIZER:-none}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --version 0.13.2 --locked" >&2
    exit 1
fi
command -v python3 >/dev/null 2>&1 || { echo "python3 is needed to build the seed corpora" >&2; exit 1; }

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

started=$(date +%s)
echo "building ${#targets[@]} fuzz targets (sanitizer: $sanitizer)"
if [ "$#" -eq 1 ]; then
    cargo fuzz build --sanitizer "$sanitizer" "$1"
else
    cargo fuzz build --sanitizer "$sanitizer"
fi
built=$(date +%s)
echo "built in $((built - started)) s"

work=$(mktemp -d "${TMPDIR:-/tmp}/rampart-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

failed=()
for target in "${targets[@]}"; do
    dir="$work/$target"
    mkdir -p "$dir/corpus"
    python3 fuzz/seeds.py "$target" "$dir/seeds" --max-bytes "$max_len" >/dev/null
    seeds=$(find "$dir/seeds" -type f | wc -l)
    log="$dir/log"
    t0=$(date +%s)
    status=0
    # The outer timeout only guards against libFuzzer itself stalling; -timeout catches hangs.
    timeout --kill-after=30 $((seconds + 300)) \
        cargo fuzz run --sanitizer "$sanitizer" "$target" "$dir/corpus" "$dir/seeds" -- \
        -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout_s" \
        -max_len="$max_len" -print_final_stats=1 >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    printf '%-22s %s  %4d seeds  %9s execs  %6s exec/s  %s  %3d s\n' "$target" \
        "$([ "$status" = 0 ] && echo ok || echo FAILED)" "$seeds" "${execs:-?}" "${rate:-?}" \
        "${cov:-cov: ?}" $(($(date +%s) - t0))
    if [ "$status" != 0 ]; then
        failed+=("$target")
        echo "---- $target: libFuzzer exited with $status; the end of its log:" >&2
        # From the first sign of trouble (a panic, libFuzzer's deadly signal, timeout or
        # out-of-memory report) to cargo-fuzz's summary, without the progress lines.
        awk '/panicked at|ERROR: libFuzzer|==ERROR|ALARM: working on the last Unit/ { on = 1 }
             /^Error: Fuzz target exited/ { print; exit }
             on && !/^#[0-9]+[ \t]+(NEW|REDUCE|pulse|RELOAD)/' "$log" | head -80 >&2
        grep -q -E 'panicked at|ERROR: libFuzzer|==ERROR|ALARM' "$log" || tail -40 "$log" >&2
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        if [ -n "$artifact" ] && [ -f "$artifact" ]; then
            echo "reproducer: $artifact ($(wc -c <"$artifact") bytes)" >&2
            echo "replay:     cargo fuzz run --sanitizer $sanitizer $target $artifact" >&2
            if [ "$(wc -c <"$artifact")" -le 4096 ]; then
                echo "base64:     $(base64 -w0 "$artifact")" >&2
            fi
        fi
        echo "----" >&2
    fi
done

echo "fuzzing took $(($(date +%s) - built)) s for ${#targets[@]} targets ($seconds s each), $(($(date +%s) - started)) s with the build"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found problems in: ${failed[*]}" >&2
    exit 1
fi
