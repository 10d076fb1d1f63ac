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

[[ -f "$CATALOG" ]] || die "$CATALOG is missing"
stack_init schemathesis
trap stack_cleanup EXIT

# --- schemathesis ----------------------------------------------------------------------------------------------

ensure_venv "$VENV" "schemathesis==$SCHEMATHESIS_VERSION" "pika==$PIKA_VERSION"
PYTHON="$VENV/bin/python"
STACK_PYTHON="$PYTHON"

# --- a private api ---------------------------------------------------------------------------------------------

BASE="$STACK_BASE"
# Stripe is a local stand-in (started below); the seed pays an order through a signed webhook, as Stripe would.
export STRIPE_SECRET_KEY="sk_test_schemathesis" STRIPE_WEBHOOK_SECRET="whsec_schemathesis"

log "database $STACK_DB: migrations, catalog, admin"
stack_database "$CATALOG"
ADMIN_PASSWORD="$ADMIN_PASSWORD_VALUE" "$STACK_API" create-admin --email "$ADMIN_EMAIL" >/dev/null

"$PYTHON" "$OC_ROOT/deploy/schemathesis-stripe.py" "$STACK_WORK/stripe.port" &
STACK_PIDS+=("$!")
for _ in $(seq 1 50); do
    [[ -s "$STACK_WORK/stripe.port" ]] && break
    sleep 0.1
done
[[ -s "$STACK_WORK/stripe.port" ]] || die "the Stripe stand-in did not start"
export STRIPE_API_BASE="http://127.0.0.1:$(cat "$STACK_WORK/stripe.port")"

log "starting the api on $BASE"
stack_start api "$BASE/health/live" "$STACK_API" serve

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
    tail -n 40 "$STACK_WORK/api.log" >&2
    exit 1
fi
log "schemathesis: no failures"
