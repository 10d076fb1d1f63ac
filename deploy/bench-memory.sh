#!/usr/bin/env bash
# Memory of the api under list load: its resident set (VmRSS) and peak (VmHWM) after a bounded wrk run of
# anonymous catalog reads whose query strings never repeat (the page cache is keyed by query string, so a hostile
# client can vary them at will).
#
#   ./deploy/bench-memory.sh                          60 s, 64 connections
#   ./deploy/bench-memory.sh --duration 20 --connections 32
#   ./deploy/bench-memory.sh --no-build               reuse the release api already in the target folder
#
# It builds the api in release mode, creates a throw-away database on the local PostgreSQL, imports
# data/movies.json, starts the api on 127.0.0.1:$BENCH_PORT (default 18090) with RATE_LIMIT_ENABLED=false, and
# drives it with wrk (installed from Debian when missing). Traffic goes to that loopback address only; the wrk run
# is bounded by --duration. Each request is one of, in turn:
#
#   list       GET /movies/?page=N&per_page=10&r=<seq>                      the anonymous list
#   filtered   GET /movies/?genre=G&year_from=Y&sort=S&page=N&r=<seq>       filters and sort
#   search     GET /movies/?search=W&page=N&r=<seq>                         full-text and trigram search
#
# The api's settings come from the environment as usual, so a variant is measured by setting it before the run
# (e.g. CATALOG_CACHE_MAX_BYTES=67108864, or MALLOC_ARENA_MAX=2). It prints VmRSS and VmHWM of the api at start,
# after a warm-up and after the load, and the request rate. The database and the scratch folder are removed at the
# end.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=60
CONNECTIONS=64
THREADS=2
BUILD=1
PORT="${BENCH_PORT:-18090}"
METRICS_PORT="${BENCH_METRICS_PORT:-$((PORT + 1))}"
DB="oc_bench_memory_$$"

while [[ $# -gt 0 ]]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --connections) CONNECTIONS="$2"; shift 2 ;;
        --no-build) BUILD=""; shift ;;
        -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[[ "$DURATION" =~ ^[0-9]+$ && "$CONNECTIONS" =~ ^[0-9]+$ ]] || die "numbers expected"

prepare_bench

if [[ -n "$BUILD" ]]; then
    log "cargo build --release -p api"
    (cd "$OC_ROOT" && cargo build --release -p api)
fi
[[ -x "$CARGO_TARGET_DIR/release/api" ]] || die "no release api in $CARGO_TARGET_DIR (run without --no-build)"
# A private copy: the target folder may be rebuilt while the benchmark runs.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/oc-bench-memory.XXXXXX")"
cp "$CARGO_TARGET_DIR/release/api" "$WORK/api"
API="$WORK/api"

API_PID=""
cleanup() {
    if [[ -n "$API_PID" ]] && kill -0 "$API_PID" 2>/dev/null; then
        kill "$API_PID" 2>/dev/null || true
        wait "$API_PID" 2>/dev/null || true
    fi
    pg_psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

pg_psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
pg_psql -d postgres -c "CREATE DATABASE $DB"

export ENVIRONMENT=production LOG_FORMAT=json RUST_LOG="${RUST_LOG:-warn}"
export POSTGRES_DB="$DB" POSTGRES_USER=postgres POSTGRES_PASSWORD="$PG_PASSWORD" DB_HOST="$OC_PG_HOST" DB_PORT="$OC_PG_PORT"
export DB_POOL_SIZE="${DB_POOL_SIZE:-16}"
export REDIS_HOST=127.0.0.1 REDIS_PORT="$OC_REDIS_PORT" REDIS_KEY_PREFIX="bench-memory-$$:"
export RABBITMQ_PREFIX="bench-memory-$$"
export SECRET_KEY_ACCESS="bench-access-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export SECRET_KEY_REFRESH="bench-refresh-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export RATE_LIMIT_ENABLED=false API_ADDR="127.0.0.1:$PORT" METRICS_ADDR="127.0.0.1:$METRICS_PORT" APP_URL="http://127.0.0.1:$PORT/"

"$API" migrate >/dev/null
CATALOG="$OC_ROOT/data/movies.json"
[[ -f "$CATALOG" ]] || die "$CATALOG is missing from the clone"
log "importing $CATALOG"
"$API" import-movies "$CATALOG" | tail -n 1

"$API" serve >"$WORK/api.log" 2>&1 &
API_PID=$!
BASE="http://127.0.0.1:$PORT"
for ((i = 0; i < 100; i++)); do
    curl -fs "$BASE/health/live" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fs "$BASE/health/live" >/dev/null 2>&1 || { cat "$WORK/api.log" >&2; die "the api did not start"; }

# memory LABEL: one line with the api's VmRSS and VmHWM in MiB.
memory() {
    awk -v label="$1" '
        $1 == "VmRSS:" { rss = $2 }
        $1 == "VmHWM:" { hwm = $2 }
        END { printf "%-14s VmRSS %7.1f MiB   VmHWM %7.1f MiB\n", label, rss / 1024, hwm / 1024 }
    ' "/proc/$API_PID/status"
}

cat >"$WORK/mixed.lua" <<'EOF'
local genres = {"drama", "comedy", "action", "thriller", "horror", "adventure", "musical", "western"}
local sorts = {"-imdb", "-votes", "year", "-year", "name", "-price", "price,-imdb"}
local words = {"love", "river", "night", "dream", "city", "war", "star", "dark", "gold", "story", "man", "king"}
local n = 0
request = function()
  n = n + 1
  local r = n .. "-" .. math.random(1e9)
  local kind = n % 3
  if kind == 0 then
    return wrk.format("GET", "/movies/?page=" .. (n % 30 + 1) .. "&per_page=10&r=" .. r)
  elseif kind == 1 then
    return wrk.format("GET", "/movies/?genre=" .. genres[n % #genres + 1] .. "&year_from=" .. (1960 + n % 40)
      .. "&sort=" .. sorts[n % #sorts + 1] .. "&page=" .. (n % 5 + 1) .. "&r=" .. r)
  else
    return wrk.format("GET", "/movies/?search=" .. words[n % #words + 1] .. "&page=" .. (n % 3 + 1) .. "&r=" .. r)
  end
end
EOF

memory "started"
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$WORK/mixed.lua" "$BASE" >/dev/null 2>&1 || true
memory "warmed up"
log "mixed list load: ${DURATION} s, $CONNECTIONS connections"
out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s "$WORK/mixed.lua" "$BASE")"
non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")"
[[ -z "$non2xx" ]] || warn "$non2xx non-2xx responses"
log "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") req/s"
memory "after ${DURATION} s"
