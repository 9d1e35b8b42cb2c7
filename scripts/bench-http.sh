#!/usr/bin/env bash
# HTTP load benchmark of the real `rampart serve` binary (release build) on loopback, with wrk.
#
#   scripts/bench-http.sh            # SQLite (a fresh data directory under /tmp)
#   DATABASE_URL=postgres://… scripts/bench-http.sh   # PostgreSQL (the database must be empty)
#
# Installs wrk (Debian) if missing, builds `rampart` in release mode once, imports the OSV corpus
# from the shared test data, starts the server with rate limits raised out of the way (the limiter
# still runs on every request: only the limit is high), then drives, one after the other:
#   1. GET /healthz               no credentials (identify + per-IP limiter, no key lookup)
#   2. GET /healthz               the same route with the bootstrap admin API key (key lookup and
#                                 per-key limiter, the handler unchanged: the cost of auth alone)
#   3. GET /api/v1/me             the key (auth, scopes, plus the handler's memberships query)
#   4. POST /v1/query             the key, a real PyPI package/version from the corpus
#   5. POST /v1/query             the key, cycling through one query per RustSec record (its
#                                 package at the version its first range introduces): every
#                                 request a different package, ~1,200 distinct answers
# Each run prints wrk's summary with its latency distribution (p50/p75/p90/p99).
# REQUEST_LOG_AB=1 instead measures the API request log's cost: run 4 against a server writing
# the log and one started with --disable-request-log, alternating, ROUNDS (3) times each.
# Knobs: RAMPART_BIN (a built binary to use), DURATION (default 20s), THREADS (1), CONNECTIONS (32), PORT (18089), DATA (the
# shared test data: RAMPART_TEST_DATA, ../shared/data or /work/shared/data), RUST_LOG (warn: the per-request info log line is left out of the figures).
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-20s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18089}
DATA=${DATA:-${RAMPART_TEST_DATA:-../shared/data}}
[ -d "$DATA" ] || DATA=/work/shared/data
export RUST_LOG=${RUST_LOG:-warn}

if ! command -v wrk >/dev/null; then
    apt-get install -y wrk >/dev/null
fi
# RAMPART_BIN: a release binary already built (e.g. by `cargo test --release`, whose feature
# set differs from a plain build's); otherwise one is built.
if [ -n "${RAMPART_BIN:-}" ]; then
    BIN=$RAMPART_BIN
else
    cargo build --release -q -p rampart-cli
    BIN=$PWD/target/release/rampart
fi

WORK=$(mktemp -d /tmp/rampart-bench.XXXXXX)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/rampart.toml" <<TOML
anonymous_rate_limit_per_minute = 1000000000
[plans.enterprise]
rate_limit_per_minute = 1000000000
TOML
if [ -n "${DATABASE_URL:-}" ]; then
    DB_ARGS=(--database-url "$DATABASE_URL")
else
    DB_ARGS=(--data-dir "$WORK/data")
fi

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== import of the OSV corpus"
for corpus in osv-pypa osv-oss-fuzz-vulns rustsec-advisory-db/osv; do
    "$BIN" import "${DB_ARGS[@]}" --type osv --quiet "$DATA/$corpus"
done

URL="http://127.0.0.1:$PORT"
QUERY='{"package":{"name":"requests","ecosystem":"PyPI"},"version":"2.2.0"}'
# Starts the server (extra arguments passed on) and waits until it answers the query from a
# loaded match index (the index is rebuilt in the background after start).
start_server() {
    "$BIN" serve "${DB_ARGS[@]}" --config "$WORK/rampart.toml" --listen "127.0.0.1:$PORT" \
        --admin-api-key-file "$WORK/admin.key" --disable-sync-scheduler "$@" >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        if curl -fsS "$URL/healthz" >/dev/null 2>&1 && [ -s "$WORK/admin.key" ]; then break; fi
        sleep 0.2
    done
    KEY=$(cat "$WORK/admin.key")
    for _ in $(seq 1 150); do
        if curl -fsS -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
            -d "$QUERY" "$URL/v1/query" | grep -q '"vulns"'; then break; fi
        sleep 0.2
    done
}
# The server's CPU time so far (user + system, clock ticks).
server_cpu_ticks() {
    awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"
}
stop_server() {
    kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}
write_query_script() {
    cat >"$WORK/query.lua" <<LUA
wrk.method = "POST"
wrk.body = '$QUERY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
LUA
}

if [ -n "${REQUEST_LOG_AB:-}" ]; then
    # The cost of the API request log: the same /v1/query run against a server that writes
    # the log and one started with --disable-request-log, alternating, ROUNDS times each.
    for round in $(seq 1 "${ROUNDS:-3}"); do
        for mode in on off; do
            if [ "$mode" = on ]; then start_server; else start_server --disable-request-log; fi
            write_query_script
            wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -s "$WORK/query.lua" "$URL/v1/query" >/dev/null
            cpu_before=$(server_cpu_ticks)
            wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$WORK/query.lua" "$URL/v1/query" >"$WORK/wrk.out"
            # The log's writer works off the request path: let it flush what the run logged
            # before reading the server's CPU time, so its cost is counted.
            sleep 2
            cpu_after=$(server_cpu_ticks)
            rate=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
            requests=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
            # Server CPU (user + system, every thread) per request: what the log costs, little
            # moved by other work on the machine, unlike the request rate.
            cpu_ns=$(( (cpu_after - cpu_before) * 1000000000 / $(getconf CLK_TCK) / requests ))
            printf '== round %s, request log %s: %s req/s, server CPU %d.%d µs/request (load: %s)\n' \
                "$round" "$mode" "$rate" $((cpu_ns / 1000)) $((cpu_ns % 1000 / 100)) "$(cut -d' ' -f1-3 /proc/loadavg)"
            stop_server
        done
    done
    exit 0
fi

start_server
echo "== /v1/query answer: $(curl -fsS -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
    -d "$QUERY" "$URL/v1/query" | grep -o '"id":"[A-Z]*-[0-9A-Za-z-]*"' | sort -u | tr '\n' ' ')"
write_query_script

run() {
    echo "== $1"
    shift
    # A short warm-up, then the measured run.
    wrk -t"$THREADS" -c"$CONNECTIONS" -d3s "$@" >/dev/null
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@"
}
run "GET /healthz (no credentials)" "$URL/healthz"
# The same public route with the key: identify authenticates and rate-limits it per key, so
# the difference to the run above is the cost of authentication and rate limiting alone.
run "GET /healthz (API key)" -H "Authorization: Bearer $KEY" "$URL/healthz"
run "GET /api/v1/me (API key)" -H "Authorization: Bearer $KEY" "$URL/api/v1/me"
run "POST /v1/query (API key)" -s "$WORK/query.lua" "$URL/v1/query"

# One query per RustSec OSV record, as a Lua table of request bodies.
python3 - "$DATA/rustsec-advisory-db/osv/crates" "$WORK/queries.lua" "$KEY" <<'PY'
import json, os, sys
root, out, key = sys.argv[1], sys.argv[2], sys.argv[3]
bodies = []
for name in sorted(os.listdir(root)):
    record = json.load(open(os.path.join(root, name)))
    for affected in record.get("affected", []):
        package = affected.get("package") or {}
        versions = [e["introduced"] for r in affected.get("ranges", []) for e in r.get("events", []) if "introduced" in e]
        if package.get("name") and versions:
            bodies.append(json.dumps({"package": {"name": package["name"], "ecosystem": "crates.io"}, "version": "0.0.0" if versions[0] == "0" else versions[0]}))
            break
with open(out, "w") as f:
    f.write("local bodies = {\n")
    for body in bodies:
        f.write("  %s,\n" % json.dumps(body))
    f.write("}\nlocal i = 0\n")
    f.write('local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %s"}\n' % key)
    f.write("request = function()\n  i = i %% #bodies + 1\n  return wrk.format(\"POST\", \"/v1/query\", headers, bodies[i])\nend\n")
print("== %d distinct queries" % len(bodies))
PY
answered=0
for body in $(python3 -c "import json,re,sys; t=open(sys.argv[1]).read(); [print(json.loads(m).replace(' ','')) for m in re.findall(r'^  (\".*\"),$', t, re.M)[::25]]" "$WORK/queries.lua"); do
    if curl -fsS -H "Authorization: Bearer $KEY" -H 'content-type: application/json' -d "$body" "$URL/v1/query" | grep -q '"vulns"'; then
        answered=$((answered + 1))
    fi
done
echo "== of every 25th query, $answered answer with vulnerabilities"
run "POST /v1/query (API key, a different package each request)" -s "$WORK/queries.lua" "$URL/v1/query"
