#!/usr/bin/env bash
# The fault drill of the job pipeline, end to end with the release binaries:
#   1. broker: a local three-node RabbitMQ cluster (deploy/rabbitmq-cluster.sh), the api, a worker and a scheduler
#      given all three nodes in RABBITMQ_URL; 300 registrations at 20/s; after the 100th, one node is killed with
#      kill -9. Every registration answered 201 must get exactly one activation mail.
#   2. database: 200 registrations at 10/s; after the 20th, the drill's database refuses connections and its open
#      ones are ended (what a PostgreSQL restart does to it) for 10 s. 503s are expected while it is down; every
#      201 must still get exactly one mail, none twice, and from 2 s after it is back every answer must be 201.
# In both, the api, worker and scheduler must keep running without a restart. The mails go to an SMTP sink that
# records them (deploy/bench/smtp_sink.py). Takes about 3 minutes; stops and removes everything it started.
#
# Usage: ./deploy/drill-broker.sh [--keep-cluster]
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$OC_ROOT"

KEEP_CLUSTER=false
[[ "${1:-}" == "--keep-cluster" ]] && KEEP_CLUSTER=true

DB="online_cinema_drill"
PREFIX="drill-$$"
WORK="$(mktemp -d)"
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pg_psql -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    $KEEP_CLUSTER || ./deploy/rabbitmq-cluster.sh stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

ensure_rust
export_target_dir
ensure_postgres
ensure_redis
BENCH_VENV="$OC_CACHE/bench-tools"
ensure_venv "$BENCH_VENV" aiosmtpd==1.4.6 pika==1.4.4
PY="$BENCH_VENV/bin/python"

log "building release binaries"
cargo build --release --quiet -p api -p worker -p scheduler
BIN="$CARGO_TARGET_DIR/release"

./deploy/rabbitmq-cluster.sh start
pg_psql -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null

SINK_PORT="$(free_port)"
API_PORT="$(free_port)"
export ENVIRONMENT=production LOG_FORMAT=json RUST_LOG=info
export POSTGRES_DB=$DB POSTGRES_USER="$OC_PG_USER" POSTGRES_PASSWORD="$PG_PASSWORD" DB_HOST="$OC_PG_HOST" DB_PORT="$OC_PG_PORT"
RABBITMQ_URL="$(./deploy/rabbitmq-cluster.sh url)"
export RABBITMQ_URL RABBITMQ_PREFIX="$PREFIX" REDIS_KEY_PREFIX="$PREFIX:"
export EMAIL_HOST=127.0.0.1 EMAIL_PORT="$SINK_PORT" EMAIL_USE_TLS=false APP_URL="http://127.0.0.1:$API_PORT/"
export API_ADDR="127.0.0.1:$API_PORT" METRICS_ADDR="127.0.0.1:$(free_port)" RATE_LIMIT_ENABLED=false BCRYPT_COST=4
export WORKER_ADDR="127.0.0.1:$(free_port)" SCHEDULER_ADDR="127.0.0.1:$(free_port)" PURGE_CRON="0 0 0 1 1 *"
export JOB_RETRY_BASE_MS=500
export SECRET_KEY_ACCESS="drill-access-secret-0123456789abcdef0123456789"
export SECRET_KEY_REFRESH="drill-refresh-secret-0123456789abcdef012345678"
"$BIN/api" migrate >/dev/null

"$PY" deploy/bench/smtp_sink.py --port "$SINK_PORT" --delay-ms 5 --record "$WORK/mails.tsv" >"$WORK/sink.log" 2>&1 &
PIDS+=($!)
wait_port 127.0.0.1 "$SINK_PORT" 30 "the SMTP sink"
"$BIN/api" serve >"$WORK/api.log" 2>&1 &
API_PID=$!
PIDS+=("$API_PID")
"$BIN/worker" >"$WORK/worker.log" 2>&1 &
WORKER_PID=$!
PIDS+=("$WORKER_PID")
"$BIN/scheduler" >"$WORK/scheduler.log" 2>&1 &
SCHEDULER_PID=$!
PIDS+=("$SCHEDULER_PID")
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$API_PORT/health/ready" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$API_PORT/health/ready" >/dev/null || { tail -n 20 "$WORK/api.log"; die "the api is not ready"; }

# The fault commands run psql as the drill's driver does (PGPASSWORD for a server that wants one).
[[ -n "$PG_PASSWORD" ]] && export PGPASSWORD="$PG_PASSWORD"
PSQL="psql -w -X -q -h $OC_PG_HOST -p $OC_PG_PORT -U $OC_PG_USER -d postgres"

verdict=0
log "broker drill: 300 registrations at 20/s, node 1 killed after the 100th"
"$PY" deploy/drill/drive.py --base "http://127.0.0.1:$API_PORT" --count 300 --rate 20 --label broker \
    --fault-at 100 --fault "./deploy/rabbitmq-cluster.sh kill 1" --record "$WORK/mails.tsv" || verdict=1

log "database drill: 200 registrations at 10/s, the database unreachable for 10 s after the 20th"
"$PY" deploy/drill/drive.py --base "http://127.0.0.1:$API_PORT" --count 200 --rate 10 --label database \
    --fault-at 20 --fault "$PSQL -c 'ALTER DATABASE $DB ALLOW_CONNECTIONS false' -c \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$DB'\" >/dev/null" \
    --recover-after 10 --recover "$PSQL -c 'ALTER DATABASE $DB ALLOW_CONNECTIONS true'" \
    --record "$WORK/mails.tsv" || verdict=1

for name in api:$API_PID worker:$WORKER_PID scheduler:$SCHEDULER_PID; do
    if ! kill -0 "${name#*:}" 2>/dev/null; then
        warn "${name%%:*} died during the drill:"
        tail -n 20 "$WORK/${name%%:*}.log" >&2
        verdict=1
    fi
done
if [[ "$verdict" -ne 0 ]]; then
    warn "the worker's last lines:"
    tail -n 15 "$WORK/worker.log" >&2
    die "the drill failed"
fi
log "drill passed: every registration answered 201 got exactly one activation mail; no process restarted"
