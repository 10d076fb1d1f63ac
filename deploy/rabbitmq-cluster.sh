#!/usr/bin/env bash
# A local three-node RabbitMQ cluster for the broker drill (deploy/drill-broker.sh): three rabbitmq-server nodes
# from Debian's package on AMQP ports 5681-5683 (distribution ports 25681-25683), named oc-drill-N@localhost,
# joined into one cluster. Independent of the machine's own RabbitMQ (5672): its own data, logs, Erlang cookie and
# no plugins (so no management listener clashes).
#
# Usage: ./deploy/rabbitmq-cluster.sh start | stop | kill N | url | status
#   start   starts the three nodes and joins them (idempotent: a running cluster is left as it is)
#   stop    stops every node and removes the cluster's data
#   kill N  kill -9 of node N (1-3), as a crashed machine would
#   url     prints RABBITMQ_URL naming the three nodes
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLUSTER_DIR="${OC_CLUSTER_DIR:-$OC_CACHE/rabbitmq-cluster}"
NODES=(1 2 3)
BASE_PORT=5680
SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server
CTL=/usr/lib/rabbitmq/bin/rabbitmqctl

node_name() { echo "oc-drill-$1@localhost"; }
node_port() { echo $((BASE_PORT + $1)); }

# The environment of node N: its own folders, no plugins, no /etc/rabbitmq settings, one shared cookie ($HOME).
node_env() {
    local n="$1" dir="$CLUSTER_DIR/node$1"
    echo HOME="$CLUSTER_DIR" RABBITMQ_NODENAME="$(node_name "$n")" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT="$(node_port "$n")" RABBITMQ_DIST_PORT=$((20000 + $(node_port "$n"))) \
        RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_PID_FILE="$dir/pid" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$CLUSTER_DIR/enabled_plugins" RABBITMQ_CONF_ENV_FILE="$CLUSTER_DIR/env.conf" \
        RABBITMQ_CONFIG_FILE="$CLUSTER_DIR/rabbitmq" RABBITMQ_ADVANCED_CONFIG_FILE="$CLUSTER_DIR/advanced.config" \
        ERL_EPMD_ADDRESS=127.0.0.1
}

ctl() {
    local n="$1"
    shift
    # shellcheck disable=SC2046
    env $(node_env "$n") "$CTL" -n "$(node_name "$n")" "$@"
}

start_node() {
    local n="$1"
    port_open 127.0.0.1 "$(node_port "$n")" && return 0
    mkdir -p "$CLUSTER_DIR/node$n/log"
    # shellcheck disable=SC2046
    env $(node_env "$n") "$SERVER" >"$CLUSTER_DIR/node$n/log/startup.log" 2>&1 &
    disown
}

start() {
    have rabbitmq-server || apt_install rabbitmq-server
    mkdir -p "$CLUSTER_DIR"
    [[ -f "$CLUSTER_DIR/enabled_plugins" ]] || echo '[].' >"$CLUSTER_DIR/enabled_plugins"
    : >"$CLUSTER_DIR/env.conf"
    # Quorum queues keep few segments in memory; the rest are the defaults.
    printf 'loopback_users = none\n' >"$CLUSTER_DIR/rabbitmq.conf"
    echo '[].' >"$CLUSTER_DIR/advanced.config"
    for n in "${NODES[@]}"; do
        start_node "$n"
    done
    for n in "${NODES[@]}"; do
        wait_port 127.0.0.1 "$(node_port "$n")" 120 "RabbitMQ node $(node_name "$n")"
        ctl "$n" await_startup >/dev/null
    done
    for n in 2 3; do
        if ! ctl "$n" cluster_status 2>/dev/null | grep -q "$(node_name 1)"; then
            log "joining $(node_name "$n") to $(node_name 1)"
            ctl "$n" stop_app >/dev/null
            ctl "$n" join_cluster "$(node_name 1)" >/dev/null
            ctl "$n" start_app >/dev/null
        fi
    done
    log "cluster of ${#NODES[@]} nodes running: $(url)"
}

stop() {
    for n in "${NODES[@]}"; do
        local pid_file="$CLUSTER_DIR/node$n/pid"
        if [[ -f "$pid_file" ]]; then
            kill -9 "$(cat "$pid_file")" 2>/dev/null || true
        fi
    done
    pkill -9 -f "oc-drill-[123]@localhost" 2>/dev/null || true
    rm -rf "$CLUSTER_DIR"
}

kill_node() {
    local n="$1" pid_file="$CLUSTER_DIR/node$1/pid"
    [[ -f "$pid_file" ]] || die "node $n has no pid file: is the cluster running?"
    kill -9 "$(cat "$pid_file")"
    log "killed $(node_name "$n") (kill -9)"
}

url() {
    local urls=()
    for n in "${NODES[@]}"; do
        urls+=("amqp://guest:guest@127.0.0.1:$(node_port "$n")/%2f")
    done
    (IFS=,; echo "${urls[*]}")
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    kill) [[ "${2:-}" =~ ^[123]$ ]] || die "usage: $0 kill 1|2|3"; kill_node "$2" ;;
    url) url ;;
    status) ctl 1 cluster_status ;;
    *) die "usage: $0 start | stop | kill N | url | status" ;;
esac
