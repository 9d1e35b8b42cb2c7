#!/usr/bin/env bash
# Ingest benchmark: `rampart import` (release build) of the whole OSV corpus in the shared test
# data (osv-pypa, osv-oss-fuzz-vulns, rustsec-advisory-db/osv: 7,893 records) into a fresh
# SQLite data directory and, when PG_URL is set, a fresh PostgreSQL database; against
# `--parse-only` of the same files (same reading and parsing code, nothing written).
#
# Each configuration runs RUNS times (default 5), each time on a fresh database, in two ways:
# one `rampart import` of the three trees, and one import per tree (three processes, so three
# start-ups and three last batches that nothing overlaps). Prints every wall time and the
# median, and records/s of the median.
#
#   scripts/bench-ingest.sh
#   RUNS=9 PG_URL=postgres://postgres@127.0.0.1:55432/postgres scripts/bench-ingest.sh
#
# With PG_URL the script creates and drops a database named rampart_bench_ingest_<pid>.
set -euo pipefail

cd "$(dirname "$0")/.."
DATA=${DATA:-${RAMPART_TEST_DATA:-../shared/data}}
[ -d "$DATA" ] || DATA=/work/shared/data
RUNS=${RUNS:-5}
CORPORA=("$DATA/osv-pypa" "$DATA/osv-oss-fuzz-vulns" "$DATA/rustsec-advisory-db/osv")
RECORDS=7893
cargo build --release -q -p rampart-cli
BIN=$PWD/target/release/rampart
WORK=$(mktemp -d /tmp/rampart-ingest.XXXXXX)
PG_DB=
cleanup() {
    rm -rf "$WORK"
    if [ -n "$PG_DB" ]; then psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null; fi
}
trap cleanup EXIT

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg)"

# A fresh, migrated database for one run; prints its flags.
fresh_database() {
    case "$1" in
        parse) echo "--parse-only" ;;
        sqlite)
            rm -rf "$WORK/data"
            "$BIN" migrate --data-dir "$WORK/data" >/dev/null 2>&1
            echo "--data-dir $WORK/data"
            ;;
        pg)
            PG_DB=rampart_bench_ingest_$$
            psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB" >/dev/null
            "$BIN" migrate --database-url "${PG_URL%/*}/$PG_DB" >/dev/null 2>&1
            echo "--database-url ${PG_URL%/*}/$PG_DB"
            ;;
    esac
}

# Wall seconds of one run: `together` imports the three trees in one process, `apart` in three.
one_run() {
    local backend=$1 mode=$2 flags start end
    # shellcheck disable=SC2207
    flags=($(fresh_database "$backend"))
    start=$(date +%s.%N)
    if [ "$mode" = together ]; then
        "$BIN" import "${flags[@]}" --type osv --quiet "${CORPORA[@]}" >/dev/null
    else
        for corpus in "${CORPORA[@]}"; do
            "$BIN" import "${flags[@]}" --type osv --quiet "$corpus" >/dev/null
        done
    fi
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

measure() {
    local backend=$1 mode=$2 times median
    times=$(for _ in $(seq "$RUNS"); do one_run "$backend" "$mode"; done | sort -n)
    median=$(echo "$times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '%-7s %-8s median %.3f s  %6.0f records/s   runs: %s\n' "$backend" "$mode" "$median" \
        "$(echo "$RECORDS / $median" | bc -l)" "$(echo "$times" | xargs printf '%.3f ')"
}

backends=(parse sqlite)
[ -n "${PG_URL:-}" ] && backends+=(pg)
for backend in "${backends[@]}"; do
    for mode in together apart; do
        measure "$backend" "$mode"
    done
done
# One summary line, so the run shows what it imported.
"$BIN" import --parse-only --type osv --quiet "${CORPORA[@]}"
