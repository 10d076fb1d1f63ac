#!/usr/bin/env bash
# Load benchmark of the accounts hot paths against a release build: login (bcrypt-bound), refresh (token rotation)
# and an authenticated GET (JWT check plus the Redis blacklist round trip). Prints req/s and p99 for each, and the
# bcrypt ceiling measured on this machine in the same run (cores / time of one verification at BCRYPT_COST).
#
# Usage: ./deploy/bench-accounts.sh [seconds per run, default 10]
# Uses a throw-away database (online_cinema_bench) and its own RabbitMQ/Redis prefixes; stops what it started.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$OC_ROOT"

DURATION="${1:-10}"
PORT="${BENCH_PORT:-18080}"
# The api's internal health and metrics listener, off the default 9100 so a running ./deploy/run.sh is not in the way.
METRICS_PORT="${BENCH_METRICS_PORT:-$((PORT + 1))}"
BASE="http://127.0.0.1:$PORT"
WORK="$(mktemp -d)"
API_PID=""

cleanup() {
    if [[ -n "$API_PID" ]]; then kill "$API_PID" 2>/dev/null || true; wait "$API_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

prepare_bench

log "building release binaries"
cargo build --release --quiet -p api
API="$CARGO_TARGET_DIR/release/api"

pg_psql -q -c "DROP DATABASE IF EXISTS online_cinema_bench WITH (FORCE)" -c "CREATE DATABASE online_cinema_bench" >/dev/null

export ENVIRONMENT=production LOG_FORMAT=json RUST_LOG=warn
export POSTGRES_DB=online_cinema_bench POSTGRES_USER=postgres POSTGRES_PASSWORD="$PG_PASSWORD" DB_HOST=127.0.0.1 DB_PORT=5432
export DB_POOL_SIZE=32 REDIS_KEY_PREFIX="bench:" RABBITMQ_PREFIX="bench"
export SECRET_KEY_ACCESS="bench-access-secret-0123456789abcdef0123456789"
export SECRET_KEY_REFRESH="bench-refresh-secret-0123456789abcdef012345678"
export RATE_LIMIT_ENABLED=false API_ADDR="127.0.0.1:$PORT" METRICS_ADDR="127.0.0.1:$METRICS_PORT" BCRYPT_COST="${BCRYPT_COST:-12}"

"$API" migrate >/dev/null
CEILING_LINE="$("$API" hash-benchmark --iterations 8)"
log "$CEILING_LINE"
CEILING="$(sed -E 's/.*: ([0-9.]+) logins\/s/\1/' <<<"$CEILING_LINE")"

start_api() {
    "$API" serve >"$WORK/api.log" 2>&1 &
    API_PID=$!
    for _ in $(seq 1 100); do
        curl -fsS "$BASE/health/live" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    tail -n 20 "$WORK/api.log"
    die "the api did not start"
}

stop_api() {
    kill "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
    API_PID=""
}

register_active() {
    local email="$1"
    curl -fsS -o /dev/null -H 'Content-Type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"Str0ng!Pass\"}" "$BASE/accounts/register/"
    pg_psql -q -d online_cinema_bench -c "UPDATE users SET is_active = true WHERE email = '$email'" >/dev/null
}

# A user hashed at cost 4 only mints refresh tokens quickly; verification uses the cost stored in the hash.
BCRYPT_COST=4 start_api
register_active "bench-refresh@example.com"
stop_api
start_api
register_active "bench-login@example.com"

ACCESS="$(curl -fsS -H 'Content-Type: application/json' \
    -d '{"email":"bench-login@example.com","password":"Str0ng!Pass"}' "$BASE/accounts/login/" |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/')"

THREADS=2
run() { # name, wrk arguments...
    local name="$1"
    shift
    wrk -t"$THREADS" --latency "$@" >"$WORK/$name.txt" 2>&1 || { cat "$WORK/$name.txt"; die "wrk failed for $name"; }
    local rps p99 errors
    rps="$(awk '/Requests\/sec/ {print $2}' "$WORK/$name.txt")"
    p99="$(awk '$1 == "99%" {print $2}' "$WORK/$name.txt")"
    errors="$(awk '/Non-2xx or 3xx responses/ {print $5}' "$WORK/$name.txt")"
    printf '%-22s %12s req/s   p99 %-10s non-2xx %s\n' "$name" "$rps" "$p99" "${errors:-0}" | tee -a "$WORK/summary.txt"
}

log "login (bcrypt cost $BCRYPT_COST), ${DURATION}s"
BENCH_LOGIN_BODY='{"email":"bench-login@example.com","password":"Str0ng!Pass"}' \
    run login -c 8 -d "${DURATION}s" -s deploy/bench/login.lua "$BASE/accounts/login/"

log "minting refresh tokens"
BENCH_MINT_BODY='{"email":"bench-refresh@example.com","password":"Str0ng!Pass"}' \
    wrk -t"$THREADS" -c 16 -d "$((DURATION + 2))s" -s deploy/bench/mint.lua "$BASE/accounts/login/" "$WORK" >/dev/null
log "minted $(cat "$WORK"/tokens-*.txt | wc -l) tokens"

log "refresh (rotation), ${DURATION}s"
run refresh -c 16 -d "${DURATION}s" -s deploy/bench/refresh.lua "$BASE/accounts/refresh/" "$WORK"

log "authenticated GET /accounts/me/, ${DURATION}s"
run authenticated_get -c 64 -d "${DURATION}s" -H "Authorization: Bearer $ACCESS" "$BASE/accounts/me/"

LOGIN_RPS="$(awk '$1 == "login" {print $2}' "$WORK/summary.txt")"
echo
echo "bcrypt ceiling: $CEILING logins/s; login reached $(awk -v a="$LOGIN_RPS" -v b="$CEILING" 'BEGIN {printf "%.0f", 100 * a / b}')% of it (target >= 80%)"
echo "authenticated GET target: >= 15000 req/s"
echo "(refresh non-2xx would mean the minted tokens ran out: each token is spent once)"

stop_api
pg_psql -q -c "DROP DATABASE IF EXISTS online_cinema_bench WITH (FORCE)" >/dev/null
