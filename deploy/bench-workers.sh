#!/usr/bin/env bash
# Worker throughput by process count: N email jobs written to the outbox go through the relay (a scheduler),
# RabbitMQ and 1, 2 and 4 release worker processes (WORKER_QUEUES=email) to an SMTP sink that answers each message
# after a fixed delay (deploy/bench/smtp_sink.py, aiosmtpd). Prints, per worker count, mails/s (first outbox row
# written → last mail accepted) and the end-to-end lag p50/p99 of a job (outbox row written → SMTP accepted, from
# job_outbox.created_at and processed_jobs.processed_at).
#
# Usage: ./deploy/bench-workers.sh [--jobs N] [--delay-ms D] [--prefetch P] [--workers "1 2 4"]
#   defaults: 3000 jobs, 20 ms (a real relay's answer time; 0 measures the worker itself), WORKER_PREFETCH 64 (the default).
#   At the default prefetch one or two workers take the whole of a 2-core machine (CPU-bound); a small prefetch
#   (--prefetch 4) keeps each worker bound by the time a job takes, which shows how throughput scales per process.
#   README ("Benchmarks") and docs/scaling.md hold both tables.
# Uses a throw-away database (online_cinema_bench_workers), its own RabbitMQ prefix; stops what it started.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$OC_ROOT"

JOBS=3000
DELAY_MS=20
PREFETCH=64
WORKER_COUNTS="1 2 4"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --jobs) JOBS="$2"; shift 2 ;;
        --delay-ms) DELAY_MS="$2"; shift 2 ;;
        --prefetch) PREFETCH="$2"; shift 2 ;;
        --workers) WORKER_COUNTS="$2"; shift 2 ;;
        *) die "unknown argument $1 (usage: $0 [--jobs N] [--delay-ms D] [--prefetch P] [--workers \"1 2 4\"])" ;;
    esac
done
[[ "$JOBS" =~ ^[0-9]+$ && "$JOBS" -gt 0 ]] || die "--jobs must be a positive number"
[[ "$DELAY_MS" =~ ^[0-9]+$ ]] || die "--delay-ms must be a number of milliseconds"

DB=online_cinema_bench_workers
PREFIX="bench-workers-$$"
WORK="$(mktemp -d)"
PIDS=()

stop_pids() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}

cleanup() {
    stop_pids
    [[ -n "${SINK_PID:-}" ]] && { kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; }
    if [[ -n "${BENCH_PYTHON:-}" ]]; then
        "$BENCH_PYTHON" - "$RABBITMQ_URL" "$PREFIX" <<'PY' >/dev/null 2>&1 || true
import sys, pika
url, prefix = sys.argv[1], sys.argv[2]
channel = pika.BlockingConnection(pika.URLParameters(url)).channel()
for queue in ("email", "maintenance"):
    for name in [f"{prefix}.jobs.{queue}"] + [f"{prefix}.jobs.{queue}.retry.{n}" for n in range(1, 11)]:
        channel.queue_delete(name)
channel.queue_delete(f"{prefix}.jobs.dead")
for exchange in (f"{prefix}.jobs", f"{prefix}.dlx"):
    channel.exchange_delete(exchange)
PY
    fi
    pg_psql -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

prepare_bench
BENCH_VENV="$OC_CACHE/bench-tools"
ensure_venv "$BENCH_VENV" aiosmtpd==1.4.6 pika==1.4.4
BENCH_PYTHON="$BENCH_VENV/bin/python"

log "building release binaries"
cargo build --release --quiet -p api -p worker -p scheduler
BIN="$CARGO_TARGET_DIR/release"

pg_psql -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
SINK_PORT="$(free_port)"
export ENVIRONMENT=production LOG_FORMAT=json RUST_LOG=warn
export POSTGRES_DB=$DB POSTGRES_USER="$OC_PG_USER" POSTGRES_PASSWORD="$PG_PASSWORD" DB_HOST="$OC_PG_HOST" DB_PORT="$OC_PG_PORT"
export RABBITMQ_URL="${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}" RABBITMQ_PREFIX="$PREFIX"
export EMAIL_HOST=127.0.0.1 EMAIL_PORT="$SINK_PORT" EMAIL_USE_TLS=false APP_URL="http://127.0.0.1:8000/"
export WORKER_QUEUES=email WORKER_PREFETCH="$PREFETCH" PURGE_CRON="0 0 0 1 1 *"
export SECRET_KEY_ACCESS="bench-access-secret-0123456789abcdef0123456789"
export SECRET_KEY_REFRESH="bench-refresh-secret-0123456789abcdef012345678"
"$BIN/api" migrate >/dev/null

"$BENCH_PYTHON" deploy/bench/smtp_sink.py --port "$SINK_PORT" --delay-ms "$DELAY_MS" >"$WORK/sink.log" 2>&1 &
SINK_PID=$!
wait_port 127.0.0.1 "$SINK_PORT" 30 "the SMTP sink"

sql() { pg_psql -qtA -d "$DB" -c "$1"; }

printf '\n%-8s %10s %10s %10s %10s\n' workers jobs mails/s "lag p50" "lag p99" | tee "$WORK/summary.txt"
declare -A RATES
for count in $WORKER_COUNTS; do
    sql "TRUNCATE job_outbox, processed_jobs" >/dev/null
    for n in $(seq 1 "$count"); do
        WORKER_ADDR="127.0.0.1:$(free_port)" "$BIN/worker" >"$WORK/worker-$count-$n.log" 2>&1 &
        PIDS+=($!)
    done
    # The workers are consuming before the first job is written: the figure is the pipeline's, not the start-up's.
    sleep 2
    SCHEDULER_ADDR="127.0.0.1:$(free_port)" "$BIN/scheduler" >"$WORK/scheduler-$count.log" 2>&1 &
    PIDS+=($!)
    sql "INSERT INTO job_outbox (id, kind, payload)
         SELECT gen_random_uuid(), 'send_email', jsonb_build_object('kind', 'activation_confirmation',
                'to', 'bench-' || g || '@example.com', 'context', '{}'::jsonb)
         FROM generate_series(1, $JOBS) AS g" >/dev/null
    deadline=$((SECONDS + 600))
    while [[ "$(sql "SELECT count(*) FROM processed_jobs")" -lt "$JOBS" ]]; do
        [[ $SECONDS -lt $deadline ]] || { tail -n 5 "$WORK"/worker-"$count"-1.log; die "$count worker(s): not done in 10 minutes"; }
        sleep 0.2
    done
    read -r rate p50 p99 <<<"$(sql "SELECT round($JOBS / extract(epoch FROM max(p.processed_at) - min(o.created_at))),
            round(1000 * extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY p.processed_at - o.created_at))),
            round(1000 * extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY p.processed_at - o.created_at)))
        FROM processed_jobs p JOIN job_outbox o ON o.id = p.job_id" | tr '|' ' ')"
    RATES[$count]="$rate"
    printf '%-8s %10s %10s %8s ms %8s ms\n' "$count" "$JOBS" "$rate" "$p50" "$p99" | tee -a "$WORK/summary.txt"
    stop_pids
done

echo
if [[ -n "${RATES[1]:-}" && -n "${RATES[4]:-}" ]]; then
    awk -v one="${RATES[1]}" -v four="${RATES[4]}" -v delay="$DELAY_MS" 'BEGIN {
        printf "4 workers / 1 worker: %.2fx (target with a 20 ms sink: >= 3.5x)\n", four / one
        if (delay == 0) printf "1 worker with a zero-delay sink: %d mails/s (target >= 500)\n", one
    }'
fi
log "sink: $(tail -n 1 "$WORK/sink.log" 2>/dev/null || echo 'no summary')"
