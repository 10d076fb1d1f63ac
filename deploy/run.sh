#!/usr/bin/env bash
# Build and run Online Cinema on this machine: PostgreSQL, Redis, RabbitMQ and a MailDev inbox (installed and
# started when nothing listens on their ports yet), then the api, worker and scheduler release binaries.
#
#   ./deploy/run.sh            run in the foreground; Ctrl-C stops everything this script started
#   ./deploy/run.sh --detach   start everything in the background and return (PIDs and logs in the run directory)
#   ./deploy/run.sh --stop     stop what a previous --detach started
#
# Idempotent: the first run creates .env from .env.sample (with fresh secrets); later runs reuse it.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN_DIR="$OC_CACHE/run"
APPS=(api worker scheduler)
MAILDEV_SMTP_PORT=1025
MAILDEV_WEB_PORT=1080
READY_TIMEOUT=60

usage() {
    cat <<EOF
usage: ./deploy/run.sh [--detach | --stop]

  (no option)   build, start everything and stay in the foreground until Ctrl-C
  --detach      build, start everything in the background and return
  --stop        stop the processes started by --detach
PIDs and logs: $RUN_DIR
EOF
}

MODE=foreground
if [[ $# -gt 1 ]]; then
    usage >&2
    exit 2
fi
case "${1:-}" in
    "") ;;
    -d | --detach) MODE=detach ;;
    --stop) MODE=stop ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage >&2
        exit 2
        ;;
esac

cd "$OC_ROOT"
mkdir -p "$RUN_DIR"

# --- process bookkeeping ---------------------------------------------------------------------------------------

# running_pid NAME: print the PID recorded for NAME when that process is still alive (and is really NAME).
running_pid() {
    local name="$1" file="$RUN_DIR/$1.pid" pid
    [[ -s "$file" ]] || return 1
    pid="$(<"$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ -r "/proc/$pid/cmdline" ]]; then
        local cmdline
        cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
        [[ "$cmdline" == *"$name"* ]] || return 1
    fi
    printf '%s\n' "$pid"
}

# stop_names SECONDS NAME...: SIGTERM the named processes, wait for them, SIGKILL the stragglers.
stop_names() {
    local secs="$1" name pid i alive
    shift
    local -a pids=()
    for name in "$@"; do
        if pid="$(running_pid "$name")"; then
            log "stopping $name (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    for ((i = 0; i < secs * 10; i++)); do
        alive=0
        for pid in "${pids[@]}"; do
            if kill -0 "$pid" 2>/dev/null; then
                alive=1
            fi
        done
        [[ "$alive" -eq 1 ]] || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            warn "pid $pid did not stop within ${secs}s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    for name in "$@"; do
        rm -f "$RUN_DIR/$name.pid"
    done
}

stop_all() {
    # The apps first (the worker may still be handing mail to MailDev), MailDev last.
    stop_names 20 scheduler media-worker worker api
    stop_names 5 maildev
}

STARTED=()

# start_proc NAME COMMAND...: start a process in the background, record its PID in NAME.pid and its output in
# NAME.log; in the foreground mode the output is also shown on the terminal, each line prefixed with [NAME].
start_proc() {
    local name="$1" i
    shift
    local log_file="$RUN_DIR/$name.log" pid_file="$RUN_DIR/$name.pid"
    rm -f "$pid_file"
    : >"$log_file"
    # The small bash wrapper writes its own PID, then execs the command, so the PID is the command's.
    # shellcheck disable=SC2016
    if [[ "$MODE" == detach ]]; then
        setsid bash -c 'echo "$$" >"$0"; exec "$@"' "$pid_file" "$@" >>"$log_file" 2>&1 </dev/null &
    else
        (
            trap '' INT # keep tee/sed alive on Ctrl-C so the shutdown logs still show
            bash -c 'echo "$$" >"$0"; exec "$@"' "$pid_file" "$@" 2>&1 </dev/null |
                tee -a "$log_file" | sed -u "s/^/[$name] /"
        ) &
    fi
    STARTED+=("$name")
    for ((i = 0; i < 50; i++)); do
        [[ -s "$pid_file" ]] && return 0
        sleep 0.1
    done
    die "$name did not start (see $log_file)"
}

show_logs() {
    local name
    for name in "${STARTED[@]}"; do
        printf '\n----- last lines of %s -----\n' "$RUN_DIR/$name.log" >&2
        tail -n 25 "$RUN_DIR/$name.log" >&2 || true
    done
}

KEEP_RUNNING=""
cleanup() {
    local status=$?
    set +e
    # Finish the shutdown even when Ctrl-C is pressed again or the terminal's reader (e.g. `| tee`) is gone.
    trap '' INT TERM PIPE
    if [[ -z "$KEEP_RUNNING" && ${#STARTED[@]} -gt 0 ]]; then
        printf '\n' >&2
        stop_all
        wait 2>/dev/null
        log "stopped"
    fi
    exit "$status"
}

# --- configuration ---------------------------------------------------------------------------------------------

# env_file_value KEY: the value of KEY in .env (last assignment, surrounding quotes removed), empty when absent.
env_file_value() {
    local key="$1" val
    [[ -f .env ]] || return 0
    val="$(sed -n "s/^[[:space:]]*\(export[[:space:]]\{1,\}\)\{0,1\}${key}[[:space:]]*=[[:space:]]*//p" .env | tail -n1)"
    val="${val%"${val##*[![:space:]]}"}"
    if [[ "$val" =~ ^\"(.*)\"$ || "$val" =~ ^\'(.*)\'$ ]]; then
        val="${BASH_REMATCH[1]}"
    fi
    printf '%s' "$val"
}

# config_value KEY DEFAULT: like the binaries do, the environment wins over .env.
config_value() {
    local key="$1" def="$2" val
    val="${!key:-}"
    [[ -n "$val" ]] || val="$(env_file_value "$key")"
    printf '%s' "${val:-$def}"
}

# set_env_value KEY VALUE: replace KEY's line in .env, or append it.
set_env_value() {
    local key="$1" value="$2"
    if grep -q "^$key=" .env; then
        sed -i "s|^$key=.*|$key=$value|" .env
    else
        printf '%s=%s\n' "$key" "$value" >>.env
    fi
}

random_hex() {
    if have openssl; then
        openssl rand -hex 32
    elif have xxd; then
        head -c 32 /dev/urandom | xxd -p -c 64
    else
        od -An -tx1 -v -N 32 /dev/urandom | tr -d ' \n'
        echo
    fi
}

prepare_env() {
    if [[ ! -f .env ]]; then
        [[ -f .env.sample ]] || die ".env.sample is missing in $OC_ROOT"
        (umask 077 && cp .env.sample .env)
        set_env_value EMAIL_PORT "$MAILDEV_SMTP_PORT"
        log "created .env from .env.sample"
    fi
    local key value other
    for key in SECRET_KEY_ACCESS SECRET_KEY_REFRESH; do
        if [[ -z "$(env_file_value "$key")" ]]; then
            other="$(env_file_value SECRET_KEY_ACCESS)"
            value="$(random_hex)"
            while [[ "$value" == "$other" ]]; do value="$(random_hex)"; done
            set_env_value "$key" "$value"
            log "generated $key in .env"
        fi
    done
}

# After ensure_postgres: make sure the binaries log in with a password that works.
reconcile_db_password() {
    local configured
    configured="$(config_value POSTGRES_PASSWORD "")"
    if pg_try_password "$configured"; then
        return 0
    fi
    if [[ -z "$(env_file_value POSTGRES_PASSWORD)" ]]; then
        set_env_value POSTGRES_PASSWORD "$PG_PASSWORD"
        log "set POSTGRES_PASSWORD in .env"
    else
        log "the POSTGRES_PASSWORD in .env does not work; using the local server's password instead"
    fi
    export POSTGRES_PASSWORD="$PG_PASSWORD"
}

addr_port() { printf '%s' "${1##*:}"; }
addr_url() {
    local host="${1%:*}" port="${1##*:}"
    case "$host" in
        "" | 0.0.0.0 | "[::]" | "::") host=127.0.0.1 ;;
    esac
    printf 'http://%s:%s' "$host" "$port"
}

# --- --stop ----------------------------------------------------------------------------------------------------

if [[ "$MODE" == stop ]]; then
    any=""
    for name in "${APPS[@]}" maildev; do
        if running_pid "$name" >/dev/null; then any=1; fi
    done
    if [[ -z "$any" ]]; then
        log "nothing to stop (no live processes recorded in $RUN_DIR)"
        rm -f "$RUN_DIR"/*.pid
        exit 0
    fi
    stop_all
    log "stopped"
    exit 0
fi

# --- start -----------------------------------------------------------------------------------------------------

for name in "${APPS[@]}" maildev; do
    if pid="$(running_pid "$name")"; then
        die "$name is already running (pid $pid) from an earlier ./deploy/run.sh; stop it first with ./deploy/run.sh --stop (or Ctrl-C in its terminal)"
    fi
    rm -f "$RUN_DIR/$name.pid"
done

prepare_env

API_ADDR_V="$(config_value API_ADDR 127.0.0.1:8000)"
METRICS_ADDR_V="$(config_value METRICS_ADDR 127.0.0.1:9100)"
WORKER_ADDR_V="$(config_value WORKER_ADDR 127.0.0.1:9101)"
SCHEDULER_ADDR_V="$(config_value SCHEDULER_ADDR 127.0.0.1:9102)"
API_URL="$(addr_url "$API_ADDR_V")"
METRICS_URL="$(addr_url "$METRICS_ADDR_V")"
WORKER_URL="$(addr_url "$WORKER_ADDR_V")"
SCHEDULER_URL="$(addr_url "$SCHEDULER_ADDR_V")"
MEDIA_WORKER_ADDR_V="$(config_value MEDIA_WORKER_ADDR 127.0.0.1:9103)"

check_ports_free() {
    local what addr
    for what in "api:$API_ADDR_V" "api metrics:$METRICS_ADDR_V" "worker:$WORKER_ADDR_V" "scheduler:$SCHEDULER_ADDR_V" \
        "media worker:$MEDIA_WORKER_ADDR_V"; do
        addr="${what#*:}"
        if port_open 127.0.0.1 "$(addr_port "$addr")"; then
            die "port $(addr_port "$addr") (${what%%:*}, $addr) is already in use - probably a previous ./deploy/run.sh is still running. Stop it (Ctrl-C in its terminal, or ./deploy/run.sh --stop after --detach) and retry."
        fi
    done
}
check_ports_free

ensure_rust
export_target_dir
have curl || apt_install curl
ensure_postgres
ensure_redis
ensure_rabbitmq
ensure_maildev
have ffmpeg && have ffprobe || apt_install ffmpeg
ensure_database "$(config_value POSTGRES_DB online_cinema)"
reconcile_db_password

log "cargo build --release --workspace (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cargo build --release --workspace
BIN_DIR="$CARGO_TARGET_DIR/release"
for name in "${APPS[@]}"; do
    [[ -x "$BIN_DIR/$name" ]] || die "$BIN_DIR/$name was not built"
done

log "applying database migrations"
"$BIN_DIR/api" migrate

# The demo catalog carried in the repository (3,201 films; the import is idempotent and quick). MOVIES_JSON points
# it at another file.
CATALOG="${MOVIES_JSON:-$OC_ROOT/data/movies.json}"
[[ -f "$CATALOG" ]] || die "movie catalog $CATALOG not found (set MOVIES_JSON to a vega-datasets style file)"
log "importing the movie catalog from $CATALOG"
"$BIN_DIR/api" import-movies "$CATALOG" | tail -n 4

check_ports_free
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if port_open 127.0.0.1 "$MAILDEV_WEB_PORT"; then
    log "something already listens on :$MAILDEV_WEB_PORT (MailDev from an earlier run?); not starting MailDev"
elif port_open 127.0.0.1 "$MAILDEV_SMTP_PORT"; then
    warn "port $MAILDEV_SMTP_PORT is taken by another program; not starting MailDev (mail goes there)"
else
    log "starting MailDev"
    start_proc maildev "$OC_MAILDEV_BIN" --smtp "$MAILDEV_SMTP_PORT" --web "$MAILDEV_WEB_PORT" --ip 127.0.0.1
    wait_port 127.0.0.1 "$MAILDEV_WEB_PORT" 30 "MailDev"
fi

for name in "${APPS[@]}"; do
    log "starting $name"
    start_proc "$name" "$BIN_DIR/$name"
done
# A media worker beside the email/maintenance one: transcoding is heavy and scales apart (WORKER_QUEUES=media).
log "starting media-worker (WORKER_QUEUES=media, ops on $MEDIA_WORKER_ADDR_V)"
start_proc media-worker env WORKER_QUEUES=media WORKER_ADDR="$MEDIA_WORKER_ADDR_V" "$BIN_DIR/worker"

# Wait until the API is ready (required) and the worker and scheduler answer (reported, not required).
startup_failed() {
    show_logs
    die "$1"
}
deadline=$((SECONDS + READY_TIMEOUT))
while ! curl -fsS -o /dev/null --max-time 2 "$API_URL/health/ready" 2>/dev/null; do
    for name in "${STARTED[@]}"; do
        running_pid "$name" >/dev/null || startup_failed "$name exited during startup"
    done
    if ((SECONDS >= deadline)); then
        startup_failed "the API did not become ready at $API_URL/health/ready within ${READY_TIMEOUT}s"
    fi
    sleep 1
done
for pair in "worker $WORKER_URL" "scheduler $SCHEDULER_URL"; do
    name="${pair%% *}"
    url="${pair#* }"
    until curl -fsS -o /dev/null --max-time 2 "$url/health/ready" 2>/dev/null; do
        running_pid "$name" >/dev/null || startup_failed "$name exited during startup"
        if ((SECONDS >= deadline + 15)); then
            warn "$name is not ready yet at $url/health/ready (see $RUN_DIR/$name.log)"
            break
        fi
        sleep 1
    done
done

cat <<EOF

Online Cinema is running.
  API                $API_URL
  Swagger UI         $API_URL/docs
  ReDoc              $API_URL/redoc
  OpenAPI            $API_URL/openapi.json
  RabbitMQ console   http://127.0.0.1:15672  (guest / guest)
  Mail inbox         http://127.0.0.1:$MAILDEV_WEB_PORT
  API metrics        $METRICS_URL/metrics  (internal; health: $METRICS_URL/health/ready)
  Worker health      $WORKER_URL/health/ready  (metrics: $WORKER_URL/metrics)
  Scheduler health   $SCHEDULER_URL/health/ready  (metrics: $SCHEDULER_URL/metrics)
Logs: $RUN_DIR/*.log
EOF

if [[ "$MODE" == detach ]]; then
    KEEP_RUNNING=1
    echo "Stop with: ./deploy/run.sh --stop"
    exit 0
fi

echo "Press Ctrl-C to stop."
while :; do
    for name in "${STARTED[@]}"; do
        if ! running_pid "$name" >/dev/null; then
            warn "$name exited; stopping the rest"
            exit 1
        fi
    done
    sleep 1 &
    wait $! || true
done
