"""An SMTP sink for deploy/bench-workers.sh and deploy/drill-broker.sh: accepts every message after a fixed delay,
like a real relay's answer time, and keeps a count (printed every 1,000 messages and at exit); with --record FILE it
also appends one line per message: recipients, tab, subject."""

import argparse
import asyncio
import signal

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, delay: float, record) -> None:
        self.delay = delay
        self.count = 0
        self.record = record

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        if self.delay:
            await asyncio.sleep(self.delay)
        self.count += 1
        if self.record is not None:
            subject = ""
            for line in envelope.content.decode("utf-8", "replace").splitlines():
                if line.lower().startswith("subject:"):
                    subject = line.split(":", 1)[1].strip()
                    break
            self.record.write(f"{','.join(envelope.rcpt_tos)}\t{subject}\n")
            self.record.flush()
        if self.count % 1000 == 0:
            print(f"{self.count} messages accepted", flush=True)
        return "250 Message accepted"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=int, default=20)
    parser.add_argument("--record")
    args = parser.parse_args()
    record = open(args.record, "a", encoding="utf-8") if args.record else None
    sink = Sink(args.delay_ms / 1000, record)
    controller = Controller(sink, hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()
    print(f"{sink.count} messages accepted in total", flush=True)


if __name__ == "__main__":
    main()
