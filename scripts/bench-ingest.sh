#!/usr/bin/env bash
# Ingest benchmark: `rampart import` (release build) of the whole OSV corpus in the shared test
# data (osv-pypa, osv-oss-fuzz-vulns, rustsec-advisory-db/osv) into a fresh SQLite data directory
# and, when PG_URL is set, a fresh PostgreSQL database; against `--parse-only` of the same files
# (same reading and parsing code, nothing written). Prints each run's summary line and wall time.
#
#   scripts/bench-ingest.sh
#   PG_URL=postgres://postgres@127.0.0.1:55432/postgres scripts/bench-ingest.sh
#
# With PG_URL the script creates and drops a database named rampart_bench_ingest_<pid>.
set -euo pipefail

cd "$(dirname "$0")/.."
DATA=${DATA:-${RAMPART_TEST_DATA:-../shared/data}}
[ -d "$DATA" ] || DATA=/work/shared/data
CORPORA=(osv-pypa osv-oss-fuzz-vulns rustsec-advisory-db/osv)
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
timed() {
    local start end
    start=$(date +%s.%N)
    "$@"
    end=$(date +%s.%N)
    echo "   wall: $(echo "$end - $start" | bc) s"
}
run_all() {
    for corpus in "${CORPORA[@]}"; do
        timed "$BIN" import "$@" --type osv --quiet "$DATA/$corpus"
    done
}

echo "== parse only"
run_all --parse-only
echo "== SQLite (fresh data directory)"
"$BIN" migrate --data-dir "$WORK/data" >/dev/null 2>&1
run_all --data-dir "$WORK/data"
if [ -n "${PG_URL:-}" ]; then
    PG_DB=rampart_bench_ingest_$$
    psql -q "$PG_URL" -c "CREATE DATABASE $PG_DB" >/dev/null
    DB_URL="${PG_URL%/*}/$PG_DB"
    "$BIN" migrate --database-url "$DB_URL" >/dev/null 2>&1
    echo "== PostgreSQL (fresh database)"
    run_all --database-url "$DB_URL"
fi
