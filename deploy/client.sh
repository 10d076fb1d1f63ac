#!/usr/bin/env bash
# The typed-client check: generates a Python client from the api's own /openapi.json with openapi-python-client
# (pinned, from PyPI) and drives a customer's first purchase through it (deploy/client/drive.py: register,
# activate with the link from the mail, log in, search the catalog, fill the cart, order). A document the generator
# warns about, or an answer the generated code cannot parse, fails the script (and deploy/test.sh).
#
# Usage: ./deploy/client.sh   (deploy/test.sh calls it)
#
# Runs the debug api, worker and scheduler (built by the test command; built here when missing) against a
# throw-away database with the shared catalog, with their own RabbitMQ and Redis prefixes, and a private MailDev
# inbox on free ports that the worker mails to. Removes all of it on exit.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$OC_ROOT"

CATALOG="$OC_ROOT/data/movies.json"
[[ -f "$CATALOG" ]] || die "$CATALOG is missing"

stack_init client
trap stack_cleanup EXIT
ensure_ops_tools
STACK_PYTHON="$OPS_PYTHON"
ensure_maildev_installed

SMTP_PORT="$(free_port)"
MAILDEV_URL="http://127.0.0.1:$(free_port)"
export EMAIL_HOST=127.0.0.1 EMAIL_PORT="$SMTP_PORT"

log "database $STACK_DB, MailDev, api, worker and scheduler"
stack_database "$CATALOG"
stack_start maildev "$MAILDEV_URL/email" "$OC_MAILDEV_BIN" --ip 127.0.0.1 --smtp "$SMTP_PORT" --web "${MAILDEV_URL##*:}"
stack_start api "http://$METRICS_ADDR/health/ready" "$STACK_API" serve
stack_start worker "http://$WORKER_ADDR/health/ready" "$STACK_WORKER"
stack_start scheduler "http://$SCHEDULER_ADDR/health/ready" "$STACK_SCHEDULER"

"$OPS_PYTHON" -c 'import sys, urllib.request; open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1]).read())' \
    "$STACK_BASE/openapi.json" "$STACK_WORK/openapi.json"
log "generating the client with openapi-python-client (warnings fail)"
# The generator formats its output with ruff, which it finds on PATH.
PATH="$OPS_VENV/bin:$PATH" "$OPS_VENV/bin/openapi-python-client" generate --path "$STACK_WORK/openapi.json" \
    --config "$OC_ROOT/deploy/client/generator.yml" --meta none --output-path "$STACK_WORK/cinema_client" \
    --fail-on-warning ||
    die "openapi-python-client could not generate a clean client from /openapi.json"
# Generated code that would fail only when called (an undefined name in a function) fails here.
"$OPS_VENV/bin/ruff" check --no-cache --isolated --quiet --select F,E9 "$STACK_WORK/cinema_client" ||
    die "the generated client has errors (pyflakes)"

log "driving register, activate, login, search, cart and order through the generated client"
if ! PYTHONPATH="$STACK_WORK" "$OPS_PYTHON" "$OC_ROOT/deploy/client/drive.py" "$STACK_BASE" "$MAILDEV_URL"; then
    log "the typed client failed; the ends of the logs:"
    for name in api worker; do
        tail -n 15 "$STACK_WORK/$name.log" >&2
    done
    exit 1
fi
log "typed client: register, activate, login, search, cart and order passed"
