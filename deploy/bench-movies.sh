#!/usr/bin/env bash
# Load test of the movie catalog at two scales: the real catalog (data/movies.json, ~3k films) and, after
# seeding synthetic movies, a large one (1,000,000 by default).
#
#   ./deploy/bench-movies.sh                       3k, then 1M movies; 10 s per scenario
#   ./deploy/bench-movies.sh --max 200000 --duration 5 --connections 32
#
# It builds the api in release mode, creates a fresh database `oc_bench` on the local PostgreSQL, starts the api on
# 127.0.0.1:$BENCH_PORT (default 18080) with RATE_LIMIT_ENABLED=false, and drives it with wrk (installed from Debian
# when missing). Traffic goes to that loopback address only; every wrk run is bounded by --duration. Scenarios:
#
#   list          GET /movies/?page=1&per_page=10                      anonymous, served by the page cache
#   list-miss     GET /movies/?page=N&per_page=10&sort=-votes&r=<seq>  a new query string every request (cache miss)
#   filtered      GET /movies/?genre=drama&year_from=1990&sort=-imdb   filters + sort
#   filter-miss   GET /movies/?genre=..&year_from=..&imdb_from=..      a filter set never seen before (cold count)
#   search        GET /movies/?search=love                             full-text + trigram search
#   search-miss   GET /movies/?search=<word>&r=<seq>                   search, a cache miss every request
#   detail        GET /movies/{uuid}/ with a bearer token              auth + detail (one pipelined round trip)
#
# It prints req/s and p99 latency per scenario and scale, and p99(large)/p99(3k); the large scale is measured right
# after `api seed-movies` (no manual ANALYZE: the command analyzes what it wrote). At each scale pgbench replays the
# SQL of the uncached page (deploy/bench/list-page.pgbench) with as many clients as the api has connections, and the
# api's list-miss rate is compared with it. The database is dropped at the end unless --keep is given.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MAX=1000000
DURATION=10
CONNECTIONS=64
THREADS=2
KEEP=""
PORT="${BENCH_PORT:-18080}"
# The api's internal health and metrics listener, off the default 9100 so a running ./deploy/run.sh is not in the way.
METRICS_PORT="${BENCH_METRICS_PORT:-$((PORT + 1))}"
DB=oc_bench

while [[ $# -gt 0 ]]; do
    case "$1" in
        --max) MAX="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --connections) CONNECTIONS="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h | --help) sed -n '2,27p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[[ "$MAX" =~ ^[0-9]+$ && "$DURATION" =~ ^[0-9]+$ && "$CONNECTIONS" =~ ^[0-9]+$ ]] || die "numbers expected"

prepare_bench
have pgbench || apt_install postgresql-contrib

WORK="$OC_CACHE/bench"
mkdir -p "$WORK"
log "cargo build --release -p api"
(cd "$OC_ROOT" && cargo build --release -p api)
# A private copy: the shared target directory may be rebuilt by another checkout while the benchmark runs.
cp "$CARGO_TARGET_DIR/release/api" "$WORK/api"
API="$WORK/api"

pg_psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
pg_psql -d postgres -c "CREATE DATABASE $DB"

export ENVIRONMENT=production LOG_FORMAT=json RUST_LOG="${RUST_LOG:-warn}"
export POSTGRES_DB="$DB" POSTGRES_USER=postgres POSTGRES_PASSWORD="$PG_PASSWORD" DB_HOST="$OC_PG_HOST" DB_PORT="$OC_PG_PORT"
export DB_POOL_SIZE="${DB_POOL_SIZE:-16}"
export REDIS_HOST=127.0.0.1 REDIS_PORT="$OC_REDIS_PORT" REDIS_KEY_PREFIX="bench-$$:"
export RABBITMQ_PREFIX="bench-$$"
export SECRET_KEY_ACCESS="bench-access-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export SECRET_KEY_REFRESH="bench-refresh-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export BCRYPT_COST=4 RATE_LIMIT_ENABLED=false API_ADDR="127.0.0.1:$PORT" METRICS_ADDR="127.0.0.1:$METRICS_PORT" APP_URL="http://127.0.0.1:$PORT/"

"$API" migrate >/dev/null
CATALOG="$OC_ROOT/data/movies.json"
[[ -f "$CATALOG" ]] || die "$CATALOG is missing from the clone"
log "importing $CATALOG"
"$API" import-movies "$CATALOG" | tail -n 4

API_PID=""
cleanup() {
    if [[ -n "$API_PID" ]] && kill -0 "$API_PID" 2>/dev/null; then
        kill "$API_PID" 2>/dev/null || true
        wait "$API_PID" 2>/dev/null || true
    fi
    if [[ -z "$KEEP" ]]; then
        pg_psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

start_api() {
    "$API" serve >"$WORK/api.log" 2>&1 &
    API_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        curl -fs "http://127.0.0.1:$PORT/health/live" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    cat "$WORK/api.log" >&2
    die "the api did not start"
}

stop_api() {
    kill "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
    API_PID=""
}

BASE="http://127.0.0.1:$PORT"
start_api
EMAIL="bench-$$@example.com"
PASSWORD='Bench!Pass1'
curl -fs -o /dev/null -X POST "$BASE/accounts/register/" -H 'content-type: application/json' \
    -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" || die "register failed"
pg_psql -d "$DB" -c "UPDATE users SET is_active = true WHERE email = '$EMAIL'"
TOKEN="$(curl -fs -X POST "$BASE/accounts/login/" -H 'content-type: application/json' \
    -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')"
[[ -n "$TOKEN" ]] || die "login failed"
UUID="$(curl -fs "$BASE/movies/?search=godfather&per_page=1" | sed -n 's/.*"uuid":"\([^"]*\)".*/\1/p' | head -n1)"
[[ -n "$UUID" ]] || die "no movie to open"

cat >"$WORK/list-miss.lua" <<'EOF'
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/movies/?page=" .. (n % 50 + 1) .. "&per_page=10&sort=-votes&r=" .. n .. "-" .. math.random(1e9))
end
EOF
cat >"$WORK/filter-miss.lua" <<'EOF'
local genres = {"drama", "comedy", "action", "western", "horror", "musical", "thriller", "documentary"}
local sorts = {"-imdb", "-votes", "year", "name", "-price"}
request = function()
  local from = 1920 + math.random(0, 100)
  return wrk.format("GET", "/movies/?genre=" .. genres[math.random(#genres)] .. "&year_from=" .. from ..
    "&year_to=" .. (from + math.random(0, 30)) .. "&imdb_from=" .. (math.random(10, 90) / 10) ..
    "&sort=" .. sorts[math.random(#sorts)])
end
EOF
cat >"$WORK/search-miss.lua" <<'EOF'
local words = {"love", "river", "night", "dream", "city", "war", "star", "dark", "gold", "story"}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/movies/?search=" .. words[n % #words + 1] .. "&r=" .. n .. "-" .. math.random(1e9))
end
EOF

declare -A RPS P99
# run NAME SCALE ARGS...: one bounded wrk run; records req/s and p99 (in ms).
run() {
    local name="$1" scale="$2"
    shift 2
    # Warm up (fills caches and connection pools), then measure.
    wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$@" >/dev/null 2>&1 || true
    local out
    out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency "$@")"
    local rps p99 non2xx
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")"
    [[ -z "$non2xx" ]] || warn "$name@$scale: $non2xx non-2xx responses"
    # wrk prints us/ms/s; normalise to milliseconds.
    p99="$(awk -v v="$p99" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
        else { print v } }')"
    RPS["$name@$scale"]="$rps"
    P99["$name@$scale"]="$p99"
    log "$(printf '%-12s %-6s %12s req/s   p99 %10s ms' "$name" "$scale" "$rps" "$p99")"
}

measure() {
    local scale="$1"
    run list "$scale" "$BASE/movies/?page=1&per_page=10"
    run list-miss "$scale" -s "$WORK/list-miss.lua" "$BASE"
    run filtered "$scale" "$BASE/movies/?genre=drama&year_from=1990&sort=-imdb"
    run filter-miss "$scale" -s "$WORK/filter-miss.lua" "$BASE"
    run search "$scale" "$BASE/movies/?search=love"
    run search-miss "$scale" -s "$WORK/search-miss.lua" "$BASE"
    run detail "$scale" -H "Authorization: Bearer $TOKEN" "$BASE/movies/$UUID/"
    pgbench_page "$scale"
}

declare -A PGBENCH
# pgbench_page SCALE: the uncached page's SQL, replayed with as many clients as the api's pool.
pgbench_page() {
    local scale="$1" out
    out="$(pgbench -n -M extended -c "$DB_POOL_SIZE" -j "$THREADS" -T "$DURATION" -f "$OC_ROOT/deploy/bench/list-page.pgbench" \
        -h "$OC_PG_HOST" -p "$OC_PG_PORT" -U "$OC_PG_USER" "$DB" 2>&1)" || { echo "$out" >&2; die "pgbench failed"; }
    PGBENCH["$scale"]="$(awk '/^tps = / {printf "%.0f", $3}' <<<"$out")"
    log "$(printf '%-12s %-6s %12s tx/s' "pgbench-page" "$scale" "${PGBENCH[$scale]}")"
}

SMALL="$(pg_psql -d "$DB" -tAc 'SELECT count(*) FROM movies')"
log "measuring at $SMALL movies"
measure small

LARGE_LABEL=large
if [[ "$MAX" -gt "$SMALL" ]]; then
    stop_api
    log "seeding $((MAX - SMALL)) synthetic movies"
    started=$SECONDS
    "$API" seed-movies --count "$((MAX - SMALL))" | tail -n 1
    # Measured right after the bulk command: its own ANALYZE is all the planner gets.
    log "seeded in $((SECONDS - started)) s"
    start_api
    # A fresh token (the api restarted, but tokens survive restarts; this only checks it still works).
    curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" "$BASE/movies/$UUID/" || die "detail failed after seeding"
    LARGE="$(pg_psql -d "$DB" -tAc 'SELECT count(*) FROM movies')"
    log "measuring at $LARGE movies"
    measure "$LARGE_LABEL"
else
    LARGE="$SMALL"
fi

printf '\n%-12s | %22s | %22s | %s\n' "scenario" "$SMALL movies" "$LARGE movies" "p99 ratio"
printf '%-12s | %10s %11s | %10s %11s | %s\n' "" "req/s" "p99 ms" "req/s" "p99 ms" "large/small"
printf -- '-------------+------------------------+------------------------+------------\n'
for name in list list-miss filtered filter-miss search search-miss detail; do
    small_p99="${P99[$name@small]:-}"
    large_p99="${P99[$name@$LARGE_LABEL]:-}"
    ratio="$(awk -v a="$small_p99" -v b="$large_p99" 'BEGIN { if (a > 0 && b != "") printf "%.2f", b / a; else print "-" }')"
    printf '%-12s | %10s %11s | %10s %11s | %s\n' "$name" "${RPS[$name@small]:-}" "$small_p99" \
        "${RPS[$name@$LARGE_LABEL]:--}" "${large_p99:--}" "$ratio"
done
for scale in small "$LARGE_LABEL"; do
    [[ -n "${PGBENCH[$scale]:-}" ]] || continue
    echo "list-miss at $scale: ${RPS[list-miss@$scale]} req/s = $(awk -v a="${RPS[list-miss@$scale]}" -v b="${PGBENCH[$scale]}" \
        'BEGIN {printf "%.0f", 100 * a / b}')% of pgbench replaying its SQL (${PGBENCH[$scale]} tx/s; target >= 80%)"
done
echo "targets: detail >= 10000 req/s; p99 ratio large/small <= 2 for every scenario"
