"""Checks of deploy/observability/ against the running binaries (deploy/observability.sh runs them).

  check_metrics.py names DASHBOARD RULES         print every metric name the dashboard and the rules use
  check_metrics.py dashboard-rules DASHBOARD     print the dashboard's queries as recording rules, so that
                                                 `promtool check rules` parses their PromQL
  check_metrics.py wait SECONDS URL NAME...      wait until the exposition at URL has a sample of every NAME
  check_metrics.py compare DASHBOARD RULES NAME=URL...
                                                 fail unless every name used is exported at one of the URLs
  check_metrics.py dead-letter AMQP_URL QUEUE    publish a message no worker can decode to QUEUE

Metric names are read from the PromQL of the dashboard's targets and the rules' `expr` by dropping what is not
one (strings, label matchers, ranges, grouping clauses, Grafana variables, functions, keywords, numbers); names
Prometheus makes itself (`up`) need no exporter.
"""

import json
import re
import sys
import time
import urllib.request

import yaml

# Series Prometheus writes for every target itself.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
            "group_right", "inf", "nan", "Inf", "NaN"}


def dashboard_exprs(path):
    with open(path) as f:
        dashboard = json.load(f)
    variables = dashboard.get("templating", {}).get("list", [])
    if not any(v.get("type") == "datasource" and v.get("query") == "prometheus" for v in variables):
        sys.exit(f"{path}: no Prometheus data source variable")
    exprs = []

    def walk(panels):
        for panel in panels:
            walk(panel.get("panels", []))
            if panel.get("type") == "row":
                continue
            if panel.get("datasource", {}).get("uid") != "${datasource}":
                sys.exit(f"{path}: panel {panel.get('title')!r} does not use the data source variable")
            if not panel.get("targets"):
                sys.exit(f"{path}: panel {panel.get('title')!r} has no query")
            exprs.extend(target["expr"] for target in panel["targets"])

    walk(dashboard.get("panels", []))
    return exprs


def rule_exprs(path):
    with open(path) as f:
        rules = yaml.safe_load(f)
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def metric_names(expr):
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    s = re.sub(r"\$\{[^}]*\}|\$\w+", " ", s)
    names = set()
    for match in re.finditer(r"(?<![\w.:])[A-Za-z_:][A-Za-z0-9_:]*", s):
        if s[match.end():].lstrip().startswith("(") or match.group(0) in KEYWORDS:
            continue
        names.add(match.group(0))
    return names


def used_names(dashboard, rules):
    names = set()
    for expr in dashboard_exprs(dashboard) + rule_exprs(rules):
        names |= metric_names(expr)
    return names


def exported(url):
    """The sample names of the exposition at URL (histogram series included as _bucket, _sum, _count)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {re.split(r"[{\s]", line, maxsplit=1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "names":
        print("\n".join(sorted(used_names(*args))))
    elif command == "dashboard-rules":
        # Grafana's interval variables are no PromQL; any duration parses the same.
        exprs = [re.sub(r"\$__(?:rate_)?interval|\$__range", "5m", expr) for expr in dashboard_exprs(args[0])]
        rules = [{"record": f"dashboard:query_{i}", "expr": expr} for i, expr in enumerate(exprs)]
        print(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    elif command == "wait":
        deadline, url, wanted = time.monotonic() + float(args[0]), args[1], set(args[2:])
        while True:
            missing = wanted - exported(url)
            if not missing:
                return
            if time.monotonic() > deadline:
                sys.exit(f"{url} still lacks {', '.join(sorted(missing))} after {args[0]} s")
            time.sleep(0.25)
    elif command == "compare":
        names = used_names(args[0], args[1])
        by_binary = {binary: exported(url) for binary, url in (arg.split("=", 1) for arg in args[2:])}
        missing = sorted(name for name in names - PROMETHEUS_OWN if not any(name in e for e in by_binary.values()))
        for name in sorted(names):
            where = [binary for binary, e in by_binary.items() if name in e]
            print(f"  {name}: {', '.join(where) if where else ('Prometheus' if name in PROMETHEUS_OWN else '-')}")
        if missing:
            sys.exit(f"used by the dashboard or the rules but exported by no binary: {', '.join(missing)}")
        print(f"all {len(names)} metric names used by the dashboard and the rules are exported")
    elif command == "dead-letter":
        import pika

        connection = pika.BlockingConnection(pika.URLParameters(args[0]))
        channel = connection.channel()
        channel.confirm_delivery()
        # Mandatory: a queue name that routes nowhere fails here instead of the wait for the metric.
        channel.basic_publish("", args[1], b"not a job", pika.BasicProperties(delivery_mode=2), mandatory=True)
        connection.close()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
