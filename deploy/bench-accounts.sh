#!/usr/bin/env bash
# Load benchmark of the accounts hot paths against a release build, with the load generator on the same machine:
#   - login and register (bcrypt-bound), compared with the bcrypt ceiling measured in the same run
#     (cores / time of one verification at BCRYPT_COST);
#   - refresh with rotation (every token spent once) at 10,000 and at 1,000,000 stored refresh tokens, each
#     compared with pgbench replaying the endpoint's own transaction (deploy/bench/refresh.pgbench) at the same
#     concurrency on the same rows;
#   - token-checked GETs: /accounts/me/, a profile, the cart, orders, purchases, payments, notifications, favorites,
#     a stream link (of a movie the caller bought, with a ready video), a genre with its movies (the largest), a star;
#   - with the group "admin": the admin listings (users, a user, orders, payments, a cart, the audit log).
# Prints req/s and p99 for each, and each figure against its target.
#
# Usage: ./deploy/bench-accounts.sh [seconds per run, default 10] [scenario groups, default "bcrypt refresh gets";
# "admin" adds the admin listings, read by an admin over the same population]
# e.g. ./deploy/bench-accounts.sh 8 gets  measures only the token-checked GETs. Each GET run repeats one request, so
# it measures the kept answer (api/src/views.rs; the admin views too); USER_VIEW_CACHE_MAX_BYTES=0 in the
# environment measures the database path instead.
# Uses a throw-away database (online_cinema_bench) and its own RabbitMQ/Redis prefixes; stops what it started.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$OC_ROOT"

DURATION="${1:-10}"
GROUPS_WANTED=" ${2:-bcrypt refresh gets} "
wants() { [[ "$GROUPS_WANTED" == *" $1 "* ]]; }
# bcrypt-bound runs last at least 30 s: wrk drops the requests in flight when it stops, about half a request per
# connection (8 connections at ~1 s each), which in a short run is a visible share of ~8 requests a second
# (6 % of an 8 s run, 1.6 % of a 30 s one) and would be counted against the endpoint.
BCRYPT_DURATION=$((DURATION > 30 ? DURATION : 30))
PORT="${BENCH_PORT:-18080}"
# The api's internal health and metrics listener, off the default 9100 so a running ./deploy/run.sh is not in the way.
METRICS_PORT="${BENCH_METRICS_PORT:-$((PORT + 1))}"
BASE="http://127.0.0.1:$PORT"
WORK="$(mktemp -d)"
API_PID=""
DB=online_cinema_bench

cleanup() {
    if [[ -n "$API_PID" ]]; then kill "$API_PID" 2>/dev/null || true; wait "$API_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

prepare_bench
have pgbench || apt_install postgresql-contrib

log "building release binaries"
cargo build --release --quiet -p api
API="$CARGO_TARGET_DIR/release/api"

pg_psql -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null

export ENVIRONMENT=production LOG_FORMAT=json RUST_LOG=warn
export POSTGRES_DB=$DB POSTGRES_USER=postgres POSTGRES_PASSWORD="$PG_PASSWORD" DB_HOST=127.0.0.1 DB_PORT=5432
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
    pg_psql -q -d $DB -c "UPDATE users SET is_active = true WHERE email = '$email'" >/dev/null
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
USER_ID="$(pg_psql -qtA -d $DB -c "SELECT id FROM users WHERE email = 'bench-login@example.com'")"
pg_psql -q -d $DB -c "INSERT INTO user_profiles (user_id, first_name, last_name) VALUES ($USER_ID, 'Bench', 'Mark')" >/dev/null

# populate: the tables the GETs read hold other users' rows (100,000 users, 10,000 movies; per user two orders
# with their payments, two purchases, three favorites and three notifications), analyzed as autovacuum would
# leave them. Against empty, never-analyzed tables PostgreSQL re-plans every paged statement (a generic plan of
# `LIMIT $n` on an unknown table looks dearer than a custom one), which is not what a running service sees.
populate() {
    "$API" seed-movies --count 10000 >/dev/null
    pg_psql -q -d $DB \
        -c "INSERT INTO users (email, hashed_password, group_id, is_active)
            SELECT 'pop-' || g || '@example.com', 'x', 1, true FROM generate_series(1, 100000) g" \
        -c "CREATE TEMP TABLE pop AS SELECT id, row_number() OVER (ORDER BY id) AS n FROM users WHERE email LIKE 'pop-%';
            CREATE TEMP TABLE film AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM movies;
            INSERT INTO orders (user_id, status, total_amount) SELECT pop.id, 'paid', 9.99 FROM pop, generate_series(1, 2);
            INSERT INTO payments (user_id, order_id, amount, status)
                SELECT orders.user_id, orders.id, orders.total_amount, 'successful' FROM orders JOIN pop ON pop.id = orders.user_id;
            INSERT INTO purchases (user_id, movie_id)
                SELECT pop.id, film.id FROM pop, generate_series(0, 1) k JOIN film ON true
                WHERE film.n = (pop.n * 7 + k * 13) % (SELECT count(*) FROM film);
            INSERT INTO favorites (user_id, movie_id)
                SELECT pop.id, film.id FROM pop, generate_series(0, 2) k JOIN film ON true
                WHERE film.n = (pop.n * 11 + k * 17) % (SELECT count(*) FROM film);
            INSERT INTO notifications (user_id, kind, movie_id)
                SELECT pop.id, 'comment_like', film.id FROM pop, generate_series(0, 2) k JOIN film ON true
                WHERE film.n = (pop.n * 5 + k * 19) % (SELECT count(*) FROM film);" \
        -c "INSERT INTO purchases (user_id, movie_id) SELECT $USER_ID, id FROM movies ORDER BY id LIMIT 1;
            INSERT INTO movie_videos (movie_id, status, source_key, source_bytes, duration_seconds, renditions, ready_at)
                SELECT id, 'ready', 'bench/source', 1, 6,
                    '[{\"name\": \"240p\", \"width\": 426, \"height\": 240, \"bandwidth\": 400000}]', now()
                FROM movies ORDER BY id LIMIT 1" \
        -c "VACUUM (ANALYZE)" -c "CHECKPOINT" >/dev/null
    STREAM_MOVIE="$(pg_psql -qtA -d $DB -c "SELECT uuid FROM movies ORDER BY id LIMIT 1")"
    GENRE_ID="$(pg_psql -qtA -d $DB -c "SELECT id FROM genres ORDER BY movies_count DESC LIMIT 1")"
    STAR_ID="$(pg_psql -qtA -d $DB -c "SELECT id FROM stars ORDER BY id LIMIT 1")"
    log "population: $(pg_psql -qtA -d $DB -c "SELECT (SELECT count(*) FROM users) || ' users, ' ||
        (SELECT count(*) FROM orders) || ' orders, ' || (SELECT count(*) FROM payments) || ' payments, ' ||
        (SELECT count(*) FROM purchases) || ' purchases, ' || (SELECT count(*) FROM favorites) || ' favorites, ' ||
        (SELECT count(*) FROM notifications) || ' notifications'")"
}
if wants gets || wants admin; then populate; fi

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

# pgbench NAME TOKENS: the refresh transaction replayed at the refresh run's concurrency.
pgbench_refresh() {
    local name="$1" tokens="$2"
    pgbench -n -M prepared -c 16 -j 2 -T "$DURATION" -D tokens="$tokens" -f deploy/bench/refresh.pgbench \
        -h "$OC_PG_HOST" -p "$OC_PG_PORT" -U "$OC_PG_USER" "$DB" >"$WORK/$name.txt" 2>&1 ||
        { cat "$WORK/$name.txt"; die "pgbench failed"; }
    local tps
    tps="$(awk '/^tps = / {print $3}' "$WORK/$name.txt")"
    printf '%-22s %12s tx/s\n' "$name" "$tps" | tee -a "$WORK/summary.txt"
}

# fill_tokens TOTAL: filler sessions (rows of pgbench's form) until the table holds TOTAL rows, then the vacuum and
# statistics autovacuum would give a table that grew to that size over time. Without the vacuum, the million rows
# just inserted start autovacuum's pass (and the first reads' hint-bit writes) inside the measured run, which then
# measures the bulk insert rather than the stored tokens (both the api and pgbench lost 15-20 % to it). The
# checkpoint likewise writes the fill's pages out before the run rather than during it.
fill_tokens() {
    local total="$1"
    pg_psql -q -d $DB -c "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)
        SELECT encode(sha256(('t' || g)::bytea), 'hex'), md5('f' || (g / 4))::uuid, $USER_ID, now() + interval '7 days'
        FROM generate_series(0, $total - 1) g
        ON CONFLICT DO NOTHING" -c "VACUUM (ANALYZE) refresh_tokens" -c "CHECKPOINT" >/dev/null
    log "refresh_tokens: $(pg_psql -qtA -d $DB -c 'SELECT count(*) FROM refresh_tokens') rows"
}

if wants bcrypt; then
    log "login (bcrypt cost $BCRYPT_COST), ${BCRYPT_DURATION}s"
    BENCH_LOGIN_BODY='{"email":"bench-login@example.com","password":"Str0ng!Pass"}' \
        run login -c 8 -d "${BCRYPT_DURATION}s" -s deploy/bench/login.lua "$BASE/accounts/login/"

    log "register (bcrypt cost $BCRYPT_COST), ${BCRYPT_DURATION}s"
    run register -c 8 -d "${BCRYPT_DURATION}s" -s deploy/bench/register.lua "$BASE/accounts/register/"
fi

wants refresh && for stored in 10000 1000000; do
    log "minting refresh tokens"
    rm -f "$WORK"/tokens-*.txt
    # Six times the run's length: a refresh spends one token, and logins at bcrypt cost 4 mint them at about
    # 1,000-1,400 a second, so four times the length ran out near the end of a 5,500 req/s run.
    BENCH_MINT_BODY='{"email":"bench-refresh@example.com","password":"Str0ng!Pass"}' \
        wrk -t"$THREADS" -c 16 -d "$((DURATION * 6))s" -s deploy/bench/mint.lua "$BASE/accounts/login/" "$WORK" >/dev/null
    log "minted $(cat "$WORK"/tokens-*.txt | wc -l) tokens"
    fill_tokens "$stored"
    log "refresh (rotation) at $stored stored tokens, ${DURATION}s"
    run "refresh_$stored" -c 16 -d "${DURATION}s" -s deploy/bench/refresh.lua "$BASE/accounts/refresh/" "$WORK"
    pgbench_refresh "pgbench_refresh_$stored" "$stored"
done

wants gets && for path in /accounts/me/ "/profiles/users/$USER_ID/" /cart/ /orders/ /purchases/ /payments/ /notifications/ \
    /movies/favorites/ "/movies/$STREAM_MOVIE/stream/" "/movies/genres/$GENRE_ID/" "/movies/stars/$STAR_ID/"; do
    name="GET_$(tr '/{}' '_' <<<"${path#/}" | sed -E 's/_+$//; s/users_[0-9]+/users_id/; s/[0-9a-f-]{36}/uuid/; s/(genres|stars)_[0-9]+$/\1_id/')"
    log "authenticated GET $path, ${DURATION}s"
    run "$name" -c 64 -d "${DURATION}s" -H "Authorization: Bearer $ACCESS" "$BASE$path"
done

if wants admin; then
    register_active "bench-admin@example.com"
    pg_psql -q -d $DB -c "UPDATE users SET group_id = 1 WHERE email = 'bench-admin@example.com'" >/dev/null
    ADMIN_ACCESS="$(curl -fsS -H 'Content-Type: application/json' \
        -d '{"email":"bench-admin@example.com","password":"Str0ng!Pass"}' "$BASE/accounts/login/" |
        sed -E 's/.*"access_token":"([^"]+)".*/\1/')"
    for path in /admin/users/ "/admin/users/$USER_ID/" /admin/orders/ /admin/payments/ "/admin/carts/$USER_ID/" \
        /admin/audit/; do
        name="GET_$(tr '/{}' '_' <<<"${path#/}" | sed -E 's/_+$//; s/users_[0-9]+/users_id/; s/carts_[0-9]+/carts_id/')"
        log "admin GET $path, ${DURATION}s"
        run "$name" -c 64 -d "${DURATION}s" -H "Authorization: Bearer $ADMIN_ACCESS" "$BASE$path"
    done
fi

figure() { awk -v n="$1" '$1 == n {print $2}' "$WORK/summary.txt"; }
percent() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", 100 * a / b}'; }
echo
if wants bcrypt; then
    echo "bcrypt ceiling: $CEILING logins/s"
    echo "login:    $(percent "$(figure login)" "$CEILING")% of the ceiling (target >= 90%)"
    echo "register: $(percent "$(figure register)" "$CEILING")% of the ceiling (target >= 90%)"
fi
wants refresh && for stored in 10000 1000000; do
    echo "refresh at $stored tokens: $(figure "refresh_$stored") req/s (target >= 3000), $(percent "$(figure "refresh_$stored")" "$(figure "pgbench_refresh_$stored")")% of pgbench (target >= 70%)"
done
wants gets && echo "token-checked GETs: target >= 15000 req/s each"
wants refresh && echo "(refresh non-2xx would mean the minted tokens ran out: each token is spent once)"

stop_api
pg_psql -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
