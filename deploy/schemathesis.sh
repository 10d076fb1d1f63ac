#!/usr/bin/env bash
# Fuzz the running api against the OpenAPI document it publishes, with schemathesis (pinned, from PyPI): every
# operation with valid and invalid data (positive and negative modes, every phase); a 5xx, an undocumented status
# or a body that breaks its declared schema fails the run.
#
# Usage: ./deploy/schemathesis.sh   (deploy/test.sh calls it after the cargo tests)
#   SCHEMATHESIS_MAX_EXAMPLES   test cases per operation and phase (default 25)
#   SCHEMATHESIS_SEED           random seed (default 20261126; fixed, so a run repeats)
#   SCHEMATHESIS_REPORT_DIR     keep JUnit reports and HAR files of every exchange there (default: none)
#
# Starts the debug `api` binary (built by the test command; built here when missing) on a free port against a
# throw-away database, with its own RabbitMQ and Redis prefixes, rate limits off and a local stand-in for Stripe
# (deploy/schemathesis-stripe.py). The shared catalog is imported and deploy/schemathesis-seed.py adds orders, a
# payment, engagement and a profile, so that lists answer with real items; an admin's bearer token goes with every
# request, so authenticated routes are exercised past their 401. Removes all of it on exit.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$OC_ROOT"

SCHEMATHESIS_VERSION="4.32.5"
PIKA_VERSION="1.4.4"
VENV="$OC_CACHE/schemathesis-$SCHEMATHESIS_VERSION"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
SEED="${SCHEMATHESIS_SEED:-20261126}"
CATALOG="$OC_ROOT/data/movies.json"
ADMIN_EMAIL="schemathesis-admin@example.com"
ADMIN_PASSWORD_VALUE="Schema!Th3sis"

ensure_rust
export_target_dir
ensure_postgres
ensure_redis
# The management console that ensure_rabbitmq also sets up is not needed here.
port_open 127.0.0.1 5672 || ensure_rabbitmq
[[ -f "$CATALOG" ]] || die "$CATALOG is missing"

# --- schemathesis ----------------------------------------------------------------------------------------------

REQUIREMENTS="schemathesis==$SCHEMATHESIS_VERSION pika==$PIKA_VERSION"
# The venv records what it was made with; any other pin rebuilds it.
if [[ "$(cat "$VENV/requirements.done" 2>/dev/null)" != "$REQUIREMENTS" ]]; then
    have python3 || apt_install python3
    python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
    log "installing $REQUIREMENTS into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    # shellcheck disable=SC2086 # one word per requirement
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $REQUIREMENTS || die "pip install $REQUIREMENTS failed"
    printf '%s\n' "$REQUIREMENTS" >"$VENV/requirements.done"
fi
PYTHON="$VENV/bin/python"

# --- a private api ---------------------------------------------------------------------------------------------

API="$CARGO_TARGET_DIR/debug/api"
if [[ ! -x "$API" ]]; then
    log "building the api"
    cargo build --quiet -p api --bin api
fi

SUFFIX="$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
DB="oc_schemathesis_$SUFFIX"
PREFIX="st_$SUFFIX"
WORK="$(mktemp -d)"
API_PID=""
STRIPE_PID=""

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"

export ENVIRONMENT=development LOG_FORMAT=pretty RUST_LOG="${RUST_LOG:-warn}"
export POSTGRES_DB="$DB" POSTGRES_USER="$OC_PG_USER" POSTGRES_PASSWORD="$PG_PASSWORD" DB_HOST="$OC_PG_HOST"
export DB_PORT="$OC_PG_PORT"
export REDIS_HOST=127.0.0.1 REDIS_PORT="$OC_REDIS_PORT" REDIS_DB=0 REDIS_KEY_PREFIX="$PREFIX:"
export RABBITMQ_URL="${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}" RABBITMQ_PREFIX="$PREFIX"
export SECRET_KEY_ACCESS="schemathesis-access-secret-0123456789abcdef01"
export SECRET_KEY_REFRESH="schemathesis-refresh-secret-0123456789abcdef0"
# Cost 4: the fuzzer registers and logs in a lot; the cost does not change any answer.
export BCRYPT_COST=4 RATE_LIMIT_ENABLED=false API_ADDR="127.0.0.1:$PORT" APP_URL="$BASE/"
export MEDIA_ROOT="$WORK/media"
# Stripe is a local stand-in (started below); the seed pays an order through a signed webhook, as Stripe would.
export STRIPE_SECRET_KEY="sk_test_schemathesis" STRIPE_WEBHOOK_SECRET="whsec_schemathesis"

cleanup() {
    local status=$? pid
    for pid in "$API_PID" "$STRIPE_PID"; do
        if [[ -n "$pid" ]]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    pg_psql -d postgres -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 ||
        warn "could not drop the database $DB"
    # The api declared its exchanges and queues (emails pile up there: no worker runs); remove them by name.
    "$PYTHON" - "$RABBITMQ_URL" "$PREFIX" <<'PY' >/dev/null 2>&1 || warn "could not remove the RabbitMQ queues of $PREFIX"
import sys, pika
url, prefix = sys.argv[1], sys.argv[2]
connection = pika.BlockingConnection(pika.URLParameters(url))
channel = connection.channel()
queues = [f"{prefix}.dead"]
for queue in ("email", "maintenance"):
    queues.append(f"{prefix}.{queue}")
    queues += [f"{prefix}.{queue}.retry.{n}" for n in range(1, 11)]
for queue in queues:
    channel.queue_delete(queue)
for exchange in (f"{prefix}.jobs", f"{prefix}.dlx"):
    channel.exchange_delete(exchange)
connection.close()
PY
    redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --scan --pattern "$PREFIX:*" 2>/dev/null |
        xargs -r redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" del >/dev/null 2>&1 || true
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT

# Away from the repository, so that a developer's .env (found in the working directory or above) is not read.
cd "$WORK"
log "database $DB: migrations, catalog, admin"
pg_psql -d postgres -c "CREATE DATABASE \"$DB\"" >/dev/null
"$API" migrate >/dev/null
"$API" import-movies "$CATALOG" >/dev/null
ADMIN_PASSWORD="$ADMIN_PASSWORD_VALUE" "$API" create-admin --email "$ADMIN_EMAIL" >/dev/null

"$PYTHON" "$OC_ROOT/deploy/schemathesis-stripe.py" "$WORK/stripe.port" &
STRIPE_PID=$!
for _ in $(seq 1 50); do
    [[ -s "$WORK/stripe.port" ]] && break
    sleep 0.1
done
[[ -s "$WORK/stripe.port" ]] || die "the Stripe stand-in did not start"
export STRIPE_API_BASE="http://127.0.0.1:$(cat "$WORK/stripe.port")"

log "starting the api on $BASE"
"$API" serve >"$WORK/api.log" 2>&1 &
API_PID=$!
started=""
for _ in $(seq 1 100); do
    if "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "$BASE/health/live" 2>/dev/null; then
        started=1
        break
    fi
    kill -0 "$API_PID" 2>/dev/null || break
    sleep 0.2
done
if [[ -z "$started" ]]; then
    tail -n 20 "$WORK/api.log" >&2
    die "the api did not start"
fi

log "seeding orders, a payment, engagement and a profile"
"$PYTHON" "$OC_ROOT/deploy/schemathesis-seed.py" "$BASE" "$ADMIN_EMAIL" "$ADMIN_PASSWORD_VALUE" "$STRIPE_WEBHOOK_SECRET"

# login: prints a fresh access token of the admin.
login() {
    "$PYTHON" - "$BASE/accounts/login/" "$ADMIN_EMAIL" "$ADMIN_PASSWORD_VALUE" <<'PY'
import json, sys, urllib.request
url, email, password = sys.argv[1:4]
request = urllib.request.Request(url, data=json.dumps({"email": email, "password": password}).encode(),
                                 headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request, timeout=10))["access_token"])
PY
}

# fuzz NAME TOKEN FILTER...: one schemathesis run over the operations FILTER selects.
fuzz() {
    local name="$1" token="$2" status
    shift 2
    local -a report=()
    if [[ -n "${SCHEMATHESIS_REPORT_DIR:-}" ]]; then
        report=(--report junit,har --report-dir "$SCHEMATHESIS_REPORT_DIR" --report-junit-path "$SCHEMATHESIS_REPORT_DIR/$name.xml" --report-har-path "$SCHEMATHESIS_REPORT_DIR/$name.har")
    fi
    log "schemathesis $SCHEMATHESIS_VERSION ($name): $MAX_EXAMPLES examples per operation, seed $SEED"
    set +e
    "$VENV/bin/schemathesis" run "$BASE/openapi.json" "$@" \
        --checks not_a_server_error,status_code_conformance,response_schema_conformance \
        --mode all \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --generation-database none \
        --header "Authorization: Bearer $token" \
        --no-color \
        "${report[@]}"
    status=$?
    set -e
    return "$status"
}

failed=()
# Logout blacklists the token it is called with, so it runs last, alone, with a token of its own.
token="$(login)" || die "the admin could not log in"
fuzz operations "$token" --exclude-path /accounts/logout/ || failed+=(operations)
token="$(login)" || die "the admin could not log in"
fuzz logout "$token" --include-path /accounts/logout/ || failed+=(logout)
if [[ ${#failed[@]} -gt 0 ]]; then
    log "schemathesis failed (${failed[*]}); the api's log ends with:"
    tail -n 40 "$WORK/api.log" >&2
    exit 1
fi
log "schemathesis: no failures"
