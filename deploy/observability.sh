#!/usr/bin/env bash
# Checks deploy/observability/: the alert rules (`promtool check rules`, `promtool check config` of the example
# prometheus.yml, and the unit tests of rules.test.yml with `promtool test rules`), the dashboard (its JSON, and
# its queries parsed by promtool as recording rules), and that every metric the dashboard and the rules name is
# exported by the running binaries.
#
# Usage: ./deploy/observability.sh   (deploy/test.sh calls it)
#
# promtool comes from Debian's `prometheus` package (installed when missing). The binaries are the debug api,
# worker and scheduler (built by the test command; built here when missing), run against a throw-away database
# with their own RabbitMQ and Redis prefixes. Metrics that exist only after an event are made to exist: a
# request, a registration whose email fails once (the private MailDev starts only after the worker retried it)
# and is then sent, an undecodable message (dead-lettered), and a scheduler ticking every second. Removes all of
# it on exit.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$OC_ROOT"

OBS="$OC_ROOT/deploy/observability"
DASHBOARD="$OBS/grafana/online-cinema.json"
RULES="$OBS/prometheus/alerts.yml"
# Long enough for a debug build on a busy 2-core machine; each wait ends as soon as its metrics are there.
WAIT_SECS=30

have promtool || apt_install prometheus
log "promtool: check rules and config, test rules"
promtool check rules "$RULES"
promtool check config "$OBS/prometheus/prometheus.yml"
(cd "$OBS/prometheus" && promtool test rules rules.test.yml)

stack_init obs
trap stack_cleanup EXIT
ensure_ops_tools
STACK_PYTHON="$OPS_PYTHON"
ensure_maildev_installed
check() {
    "$OPS_PYTHON" "$OBS/check_metrics.py" "$@"
}
# The dashboard: its data source variable, a query per panel, and queries that parse.
check names "$DASHBOARD" "$RULES" >/dev/null
check dashboard-rules "$DASHBOARD" >"$STACK_WORK/dashboard-queries.yml"
promtool check rules "$STACK_WORK/dashboard-queries.yml" >/dev/null ||
    die "the dashboard's queries do not parse: promtool check rules $STACK_WORK/dashboard-queries.yml"

SMTP_PORT="$(free_port)"
MAILDEV_URL="http://127.0.0.1:$(free_port)"
API_METRICS="http://$METRICS_ADDR/metrics"
WORKER_METRICS="http://$WORKER_ADDR/metrics"
SCHEDULER_METRICS="http://$SCHEDULER_ADDR/metrics"
# A tick every second; a failed email comes back after 0.2, 0.8, 3.2 ... seconds, ten times at most.
export PURGE_CRON="* * * * * *" JOB_RETRY_BASE_MS=200 JOB_MAX_ATTEMPTS=10
export EMAIL_HOST=127.0.0.1 EMAIL_PORT="$SMTP_PORT"

log "database $STACK_DB, api, worker and scheduler"
stack_database
stack_start api "http://$METRICS_ADDR/health/live" "$STACK_API" serve
stack_start worker "http://$WORKER_ADDR/health/live" "$STACK_WORKER"
stack_start scheduler "http://$SCHEDULER_ADDR/health/live" "$STACK_SCHEDULER"

log "making every metric exist: a request, a registration mailed after a retry, a dead letter, ticks"
"$OPS_PYTHON" - "$STACK_BASE" <<'PY'
import json, sys, urllib.request
request = urllib.request.Request(f"{sys.argv[1]}/accounts/register/", method="POST",
                                 data=json.dumps({"email": "metrics@example.com", "password": "Metr1cs!ok"}).encode(),
                                 headers={"Content-Type": "application/json"})
urllib.request.urlopen(request, timeout=10).read()
PY
check wait "$WAIT_SECS" "$WORKER_METRICS" jobs_retried_total
stack_start maildev "$MAILDEV_URL/email" "$OC_MAILDEV_BIN" --ip 127.0.0.1 --smtp "$SMTP_PORT" --web "${MAILDEV_URL##*:}"
check dead-letter "$RABBITMQ_URL" "$STACK_PREFIX.jobs.email"
check wait "$WAIT_SECS" "$WORKER_METRICS" email_send_seconds_bucket jobs_dead_lettered_total job_queue_lag_seconds_bucket
check wait "$WAIT_SECS" "$SCHEDULER_METRICS" scheduler_ticks_total
# The worker records queue depths every 15 s, the first time at its start.
check wait "$WAIT_SECS" "$WORKER_METRICS" job_queue_depth

log "metric names of the dashboard and the rules against the api, worker and scheduler"
check compare "$DASHBOARD" "$RULES" "api=$API_METRICS" "worker=$WORKER_METRICS" "scheduler=$SCHEDULER_METRICS"
