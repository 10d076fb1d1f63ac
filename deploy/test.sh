#!/usr/bin/env bash
# Run every check of the workspace: formatting, clippy (warnings are errors), schema drift (shared/src/schema/*.rs
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

# Schema drift: the migrations applied to a fresh database must give exactly the generated schema files (each
# `file` of diesel.toml, shared/src/schema/<area>.rs), as `diesel migration run` writes them with diesel.toml's
# settings. They are regenerated into a scratch copy (diesel.toml, its patch files, a link to migrations/) and
# diffed one by one. The whole schema, printed without filters, must also hold no table that no area lists and no
# foreign key that neither an area file nor shared/src/schema/mod.rs (the joins across areas) declares.
check_schema_drift() {
    local name="oc_schema_drift_$$" url scratch drift=0 file declared='^(    [a-z_0-9]+ \(|diesel::joinable!)'
    [[ "$TEST_DATABASE_ADMIN_URL" =~ ^(postgres(ql)?://[^/]*)(/[^?]*)?(\?.*)?$ ]] ||
        die "TEST_DATABASE_ADMIN_URL is not a postgres:// URL"
    url="${BASH_REMATCH[1]}/$name${BASH_REMATCH[4]}"
    scratch="$(mktemp -d)"
    local -a files
    mapfile -t files < <(sed -n 's/^file = "\(.*\)"$/\1/p' diesel.toml)
    cp diesel.toml "$scratch/"
    ln -s "$OC_ROOT/migrations" "$scratch/migrations"
    for file in $(sed -n 's/^patch_file = "\(.*\)"$/\1/p' diesel.toml); do
        mkdir -p "$scratch/$(dirname "$file")" && cp "$file" "$scratch/$file"
    done
    psql -w -X -q -v ON_ERROR_STOP=1 "$TEST_DATABASE_ADMIN_URL" -c "CREATE DATABASE $name"
    if diesel migration run --config-file "$scratch/diesel.toml" --database-url "$url" >"$scratch/output" 2>&1; then
        for file in "${files[@]}"; do
            diff -u "$file" "$scratch/$file" || drift=1
        done
        # Every table and foreign key of the unfiltered schema must stand in some file (mod.rs: those across areas).
        : >"$scratch/empty.toml"
        diesel print-schema --config-file "$scratch/empty.toml" --database-url "$url" >"$scratch/whole.rs" || drift=3
        comm -23 <(grep -E "$declared" "$scratch/whole.rs" | sort -u) \
            <(cat "${files[@]}" shared/src/schema/mod.rs | grep -E "$declared" | sort -u) >"$scratch/uncovered"
        if [[ -s "$scratch/uncovered" ]]; then
            cat "$scratch/uncovered" >&2
            drift=3
        fi
    else
        cat "$scratch/output" >&2
        drift=2
    fi
    psql -w -X -q "$TEST_DATABASE_ADMIN_URL" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" || true
    rm -rf "$scratch"
    case "$drift" in
        1) die "schema drift: the generated schema files (-) differ from what the migrations give (+); regenerate" \
            "them: diesel migration run --database-url <a database>" ;;
        2) die "schema drift check: the migrations do not apply to a fresh database" ;;
        3) die "schema drift: a table or foreign key above is in no area; add it to a diesel.toml section's" \
            "only_tables (and the area's list in shared/src/schema/mod.rs) or to mod.rs's joinable! list" ;;
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
trap 'rm -f "$results"; stop_s3_server' EXIT
# Media tests run against a real S3-compatible server: one of the environment's, or moto started here. The video
# tests encode with Debian's ffmpeg and play the result with hls.js in Debian's headless Chromium (PLAYER_SCRIPT).
[[ -n "${TEST_S3_ENDPOINT_URL:-}" ]] || start_s3_server
have ffmpeg && have ffprobe || apt_install ffmpeg
ensure_player
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
