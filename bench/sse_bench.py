"""Server-Sent Events fan-out: cost of 1 vs N subscribers on /platform/api/events.

Starts portald --sim --http on 127.0.0.1 (stream cap raised to fit), then runs two phases of
--duration seconds each (default 60): one subscriber, then --subscribers (default 500) subscribers,
all in this process on gevent sockets. For each phase it reports:
  - events delivered per subscriber (min / mean) and by event name;
  - max delivery lag: for every distinct event (same name and data) first sent after all subscribers
    were connected, the time between the first and the last subscriber receiving it — what one
    subscriber waits for the others (this includes the bench client's own scheduling of 500 sockets);
  - portald's CPU (utime+stime from /proc/PID/stat, as % of one core, and per delivered event: CPU
    microseconds divided by the events all subscribers received) and RSS at the end (VmRSS).
Targets (issue 3): CPU that does not grow with subscribers beyond serialisation, RSS < 80 MB at 500.

    .venv/bin/python bench/sse_bench.py [--duration 60] [--subscribers 500] [--json]
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402

from benchlib import (HOST, BenchError, admin_token, cpu_seconds, interrupt_on_sigterm, log, portald,  # noqa: E402
                      status_kib)


class Subscriber:
    def __init__(self, port: int, token: str, arrivals: dict):
        self.port, self.token, self.arrivals = port, token, arrivals
        self.events: Counter = Counter()
        self.error = ""
        self.connected = float("inf")

    def run(self, until: float) -> None:
        try:
            sock = socket.create_connection((HOST, self.port), timeout=10)
            sock.sendall(f"GET /platform/api/events HTTP/1.0\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n"
                         f"Authorization: Bearer {self.token}\r\n\r\n".encode())
            buffer = b""
            with gevent.Timeout(max(until - time.monotonic(), 0.1), False):
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        self.error = "server closed the stream"
                        break
                    if self.connected == float("inf"):
                        self.connected = time.monotonic()
                    buffer += chunk
                    while b"\n\n" in buffer:
                        block, buffer = buffer.split(b"\n\n", 1)
                        self._frame(block)
            sock.close()
        except OSError as exc:
            self.error = str(exc)

    def _frame(self, block: bytes) -> None:
        name = data = None
        for line in block.split(b"\n"):
            if line.startswith(b"event: "):
                name = line[7:]
            elif line.startswith(b"data: "):
                data = line[6:]
        if name and data is not None:
            self.events[name.decode()] += 1
            self.arrivals.setdefault((name, hash(data)), []).append(time.monotonic())


def phase(port: int, pid: int, token: str, count: int, duration: float) -> dict:
    arrivals: dict = {}
    subs = [Subscriber(port, token, arrivals) for _ in range(count)]
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    until = t0 + duration
    greenlets = [gevent.spawn(s.run, until) for s in subs]
    gevent.joinall(greenlets)
    elapsed = time.monotonic() - t0
    cpu = cpu_seconds(pid) - cpu0
    per_sub = [sum(s.events.values()) for s in subs]
    # only events first sent after every subscriber was connected: a subscriber that joins late gets
    # the latest payload at once, which is not delivery lag
    ramp_done = max(s.connected for s in subs)
    lags = [max(times) - min(times) for times in arrivals.values() if len(times) > 1 and min(times) > ramp_done]
    names = Counter()
    for s in subs:
        names.update(s.events)
    return {
        "subscribers": count, "seconds": round(elapsed, 1),
        "events_per_subscriber_min": min(per_sub), "events_per_subscriber_mean": round(sum(per_sub) / count, 1),
        "events_by_name_per_subscriber": {k: round(v / count, 1) for k, v in sorted(names.items())},
        "max_delivery_lag_ms": round(max(lags) * 1000, 1) if lags else None,
        "cpu_percent_of_one_core": round(100 * cpu / elapsed, 2),
        "cpu_us_per_delivered_event": round(cpu * 1e6 / max(sum(per_sub), 1), 1),
        "rss_mib_end": round(status_kib(pid, "VmRSS") / 1024, 1),
        "errors": sorted({s.error for s in subs if s.error}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    interrupt_on_sigterm()
    os.environ["PORTALD_SERVER__MAX_STREAMS"] = str(args.subscribers + 10)
    os.environ["PORTALD_SERVER__MAX_STREAMS_PER_USER"] = str(args.subscribers + 10)
    report: dict = {"phases": []}
    try:
        with tempfile.TemporaryDirectory(prefix="portald-sse-") as tmp, portald(Path(tmp)) as daemon:
            token = admin_token(daemon.port)
            report["rss_mib_start"] = round(status_kib(daemon.pid, "VmRSS") / 1024, 1)
            for count in (1, args.subscribers):
                log(f"{count} subscriber(s) for {args.duration:g} s ...")
                report["phases"].append(phase(daemon.port, daemon.pid, token, count, args.duration))
    except (BenchError, KeyboardInterrupt) as exc:
        print(f"sse_bench: {exc or 'interrupted'}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"portald SSE fan-out on /platform/api/events (--sim, 127.0.0.1); RSS at start {report['rss_mib_start']} MiB")
    print("  subs  events/sub(min/mean)  max lag ms  CPU % core  CPU us/event  RSS MiB  by name (per subscriber)")
    for p in report["phases"]:
        print(f"  {p['subscribers']:>4}  {p['events_per_subscriber_min']:>8} / {p['events_per_subscriber_mean']:<8}"
              f"  {p['max_delivery_lag_ms']!s:>10}  {p['cpu_percent_of_one_core']:>10}"
              f"  {p['cpu_us_per_delivered_event']:>12}  {p['rss_mib_end']:>7}"
              f"  {p['events_by_name_per_subscriber']}" + (f"  errors: {p['errors']}" if p["errors"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
