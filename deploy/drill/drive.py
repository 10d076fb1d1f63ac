"""The fault drill's client (deploy/drill-broker.sh): registrations at a steady rate, a fault injected in the middle
(a shell command run at a given registration), then the verdict from the SMTP sink's record: every registration
answered 201 got exactly one activation mail, and nothing else was mailed.

Usage: drive.py --base URL --count N --rate R --fault-at K --fault CMD [--recover-after S --recover CMD]
                --record FILE --label NAME [--wait S]
Exit status 0 when the verdict holds, 1 otherwise; prints the counts either way."""

import argparse
import collections
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

ACTIVATION_SUBJECT = "Account Activation"


def register(base: str, email: str) -> int:
    body = json.dumps({"email": email, "password": "Str0ng!Pass"}).encode()
    request = urllib.request.Request(
        f"{base}/accounts/register/", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        return 0


def mails(record: str) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    try:
        with open(record, encoding="utf-8") as lines:
            for line in lines:
                recipients, _, subject = line.rstrip("\n").partition("\t")
                for recipient in recipients.split(","):
                    counts[(recipient.lower(), subject)] += 1
    except FileNotFoundError:
        pass
    return counts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--fault-at", type=int, required=True)
    parser.add_argument("--fault", required=True)
    parser.add_argument("--recover-after", type=float, default=0.0)
    parser.add_argument("--recover", default="")
    parser.add_argument("--record", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--wait", type=float, default=120.0)
    args = parser.parse_args()

    statuses: dict[str, int] = {}
    interval = 1.0 / args.rate
    started = time.monotonic()
    recover_at = None
    recovered_from = None
    for n in range(args.count):
        if n == args.fault_at:
            print(f"[{args.label}] registration {n}: {args.fault}", flush=True)
            subprocess.run(args.fault, shell=True, check=True)
            if args.recover:
                recover_at = time.monotonic() + args.recover_after
        if recover_at is not None and time.monotonic() >= recover_at:
            print(f"[{args.label}] registration {n}: {args.recover}", flush=True)
            subprocess.run(args.recover, shell=True, check=True)
            recover_at = None
            recovered_from = n
        email = f"{args.label}-{n}@drill.example.com"
        statuses[email] = register(args.base, email)
        pause = started + (n + 1) * interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    if recover_at is not None:
        print(f"[{args.label}] the fault outlasted the registrations: raise --count", flush=True)
        time.sleep(max(0.0, recover_at - time.monotonic()))
        subprocess.run(args.recover, shell=True, check=True)

    created = [email for email, status in statuses.items() if status == 201]
    by_status = collections.Counter(statuses.values())
    print(f"[{args.label}] answers: {dict(sorted(by_status.items()))}", flush=True)

    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        counts = mails(args.record)
        if all(counts[(email, ACTIVATION_SUBJECT)] >= 1 for email in created):
            break
        time.sleep(1)
    # Late duplicates (a redelivery after a retry's backoff) would arrive within seconds.
    time.sleep(10)
    counts = mails(args.record)
    ours = {key: value for key, value in counts.items() if key[0].startswith(f"{args.label}-")}
    missing = [email for email in created if counts[(email, ACTIVATION_SUBJECT)] == 0]
    doubled = [email for email in created if counts[(email, ACTIVATION_SUBJECT)] > 1]
    unexpected = [key for key in ours if key[0] not in created or key[1] != ACTIVATION_SUBJECT]
    print(
        f"[{args.label}] {len(created)} registrations answered 201; activation mails: "
        f"{sum(1 for email in created if counts[(email, ACTIVATION_SUBJECT)] == 1)} exactly once, "
        f"{len(missing)} missing, {len(doubled)} more than once; {len(unexpected)} unexpected mails",
        flush=True,
    )
    for name, items in (("missing", missing), ("more than once", doubled), ("unexpected", unexpected)):
        if items:
            print(f"[{args.label}] {name}: {items[:10]}", flush=True)
    if by_status.get(500):
        print(f"[{args.label}] {by_status[500]} answers were 500", flush=True)
    # After the fault ended, the service must answer again (within a couple of seconds).
    recovered = True
    if args.recover:
        after = list(statuses.values())[int(recovered_from or args.count) + int(2 * args.rate):]
        recovered = bool(after) and all(status == 201 for status in after)
        print(f"[{args.label}] after recovery: {dict(collections.Counter(after))}", flush=True)
    ok = recovered and not missing and not doubled and not unexpected and not by_status.get(500) and created
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
