#!/usr/bin/env bash
# Run every check of the workspace: formatting, clippy (warnings are errors), schema drift (shared/src/schema.rs
# against the migrations), the test suite, the alert rules and the dashboard against the running binaries
# (deploy/observability.sh), the Kubernetes manifests built and validated offline (deploy/k8s-check.sh), a client
# generated from the api's OpenAPI document (deploy/client.sh), and schemathesis against the running api
# (deploy/schemathesis.sh).
# PostgreSQL, Redis and RabbitMQ are installed and started when nothing listens on their ports yet (the tests
# catch mail with an in-process SMTP sink, so MailDev is not needed). Non-interactive and idempotent.
#
# The tests find the services through TEST_DATABASE_ADMIN_URL, TEST_REDIS_URL and TEST_RABBITMQ_URL; values
# already set in the environment are kept.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$OC_ROOT"

ensure_rust
export_target_dir

cargo fmt --version >/dev/null 2>&1 ||
    die "rustfmt is not installed for this toolchain: run 'rustup component add rustfmt'"
cargo clippy --version >/dev/null 2>&1 ||
    die "clippy is not installed for this toolchain: run 'rustup component add clippy'"

ensure_postgres
ensure_redis
ensure_rabbitmq

if [[ -n "$PG_PASSWORD" ]]; then
    default_db_url="postgres://$OC_PG_USER:$(urlencode "$PG_PASSWORD")@$OC_PG_HOST:$OC_PG_PORT/postgres"
else
    default_db_url="postgres://$OC_PG_USER@$OC_PG_HOST:$OC_PG_PORT/postgres"
fi
export TEST_DATABASE_ADMIN_URL="${TEST_DATABASE_ADMIN_URL:-$default_db_url}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
export TEST_RABBITMQ_URL="${TEST_RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"

locked=(--locked)
if [[ ! -f Cargo.lock ]]; then
    warn "Cargo.lock is missing: running without --locked"
    locked=()
fi

step() {
    log "$*"
    "$@"
}

# Schema drift: the migrations applied to a fresh database must give exactly shared/src/schema.rs, as
# `diesel print-schema` prints it with diesel.toml's settings. `--locked-schema` keeps `migration run` from
# rewriting the file; the diff shows what disagrees.
check_schema_drift() {
    local name="oc_schema_drift_$$" url output drift=0
    [[ "$TEST_DATABASE_ADMIN_URL" =~ ^(postgres(ql)?://[^/]*)(/[^?]*)?(\?.*)?$ ]] ||
        die "TEST_DATABASE_ADMIN_URL is not a postgres:// URL"
    url="${BASH_REMATCH[1]}/$name${BASH_REMATCH[4]}"
    output="$(mktemp)"
    psql -w -X -q -v ON_ERROR_STOP=1 "$TEST_DATABASE_ADMIN_URL" -c "CREATE DATABASE $name"
    if diesel migration run --locked-schema --database-url "$url" >"$output" 2>&1 ||
        grep -q "would result in changes" "$output"; then
        diesel print-schema --database-url "$url" >"$output" && diff -u shared/src/schema.rs "$output" || drift=1
    else
        cat "$output" >&2
        drift=2
    fi
    psql -w -X -q "$TEST_DATABASE_ADMIN_URL" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" || true
    rm -f "$output"
    case "$drift" in
        1) die "schema drift: shared/src/schema.rs (-) differs from what the migrations give (+); regenerate it:" \
            "diesel print-schema --database-url <a freshly migrated database> > shared/src/schema.rs" ;;
        2) die "schema drift check: the migrations do not apply to a fresh database" ;;
    esac
}

step cargo fmt --all -- --check
step cargo clippy --workspace --all-targets "${locked[@]}" -- -D warnings
ensure_diesel_cli
step check_schema_drift
# The end-to-end suite (the e2e crate, e2e/tests/api/) starts the api, worker and scheduler executables, which
# `cargo test` does not build (it builds only a package's own binaries, and e2e has none): build every binary first,
# so that a fresh target folder works and a stale one is updated.
step cargo build --workspace --bins "${locked[@]}"
# cargo prints one "test result" line per test target (the last ones are often empty doc-test targets), so the run
# ends with the totals over all targets on one line.
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
log cargo test --workspace --no-fail-fast "${locked[@]}"
set +e
cargo test --workspace --no-fail-fast "${locked[@]}" 2>&1 | tee "$results"
test_status=${PIPESTATUS[0]}
set -e
totals="$(awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed", passed, failed }' "$results")"
# The checks below run the debug binaries built above; each runs even when an earlier one failed, and the run ends
# with all their results.
checks=(observability k8s-check client schemathesis)
declare -A check_status
# observability: promtool on the alert rules, and every metric the dashboard and the rules name must be exported.
# k8s-check: every kustomize overlay built and validated offline (Kubernetes and CRD schemas, project rules).
# client: a Python client generated from /openapi.json drives register → activate → login → search → cart → order.
# schemathesis: the published OpenAPI document against the running api; every answer must be one it describes.
for check in "${checks[@]}"; do
    log "deploy/$check.sh"
    check_status[$check]=0
    "$OC_ROOT/deploy/$check.sh" || check_status[$check]=$?
done
echo "test.sh: all checks done"
echo "tests: $totals"
final_status="$test_status"
for check in "${checks[@]}"; do
    if [[ "${check_status[$check]}" -eq 0 ]]; then
        echo "$check: no failures"
    else
        echo "$check: FAILED (exit ${check_status[$check]})"
        [[ "$final_status" -ne 0 ]] || final_status="${check_status[$check]}"
    fi
done
exit "$final_status"
