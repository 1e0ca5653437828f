"""GET /platform/api/processes against a bare psutil loop collecting the same fields.

In one run, on this machine:
  0. with --spawn N, starts N `sleep` processes first (a machine with more processes), stopped at the end;
  1. starts portald --sim --http on 127.0.0.1 with a temporary state dir and gets a full admin token;
  2. takes one cold GET /platform/api/processes (it waits for the sampler's first walk of /proc);
  3. then N times, alternating so both see the same machine load:
     - endpoint: GET /platform/api/processes on one keep-alive connection, body read and json.loads'ed
       (the client ends with the same Python list the bare loop builds);
     - bare loop: [p.info for p in psutil.process_iter(ATTRS)], the fields the endpoint serves;
  4. reports mean and p50 of each and the ratio endpoint/bare (target: <= 1, since the endpoint serves
     the sampler's snapshot instead of walking /proc per request);
  5. stops the daemon, also on errors and Ctrl-C.

    .venv/bin/python bench/processes_bench.py [--repeat 50] [--spawn 0] [--json]

Exit status: 0 fine, 1 the endpoint's p50 is slower than the bare loop's, 2 setup error or interrupted.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchlib import HOST, BenchError, admin_token, interrupt_on_sigterm, log, portald

PROCESSES = "/platform/api/processes"
# the psutil attributes behind the endpoint's fields (create_time -> elapsedTime, uids -> username)
ATTRS = ["pid", "ppid", "name", "num_threads", "memory_info", "cpu_percent", "username", "create_time", "exe",
         "cmdline"]


def timed_get(conn: http.client.HTTPConnection, token: str) -> tuple[float, int]:
    started = time.perf_counter()
    conn.request("GET", PROCESSES, headers={"Authorization": f"Bearer {token}"})
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise BenchError(f"GET {PROCESSES} answered {resp.status}: {body[:300]!r}")
    rows = json.loads(body)
    return time.perf_counter() - started, len(rows)


def timed_bare() -> tuple[float, int]:
    started = time.perf_counter()
    rows = [p.info for p in psutil.process_iter(ATTRS)]
    return time.perf_counter() - started, len(rows)


def summary(seconds: list[float]) -> dict:
    return {"mean_ms": statistics.fmean(seconds) * 1000, "p50_ms": statistics.median(seconds) * 1000}


@contextlib.contextmanager
def sleepers(count: int):
    """``count`` sleep processes of our own, killed (by their pids) however the bench ends."""
    started: list[subprocess.Popen] = []
    try:
        for _ in range(count):
            started.append(subprocess.Popen(["sleep", "3600"], stdin=subprocess.DEVNULL))
        yield
    finally:
        for proc in started:
            proc.kill()
        for proc in started:
            proc.wait()


def run(args, report: dict) -> None:
    with sleepers(args.spawn), tempfile.TemporaryDirectory(prefix="portald-bench-") as tmp, \
            portald(Path(tmp)) as server:
        token = admin_token(server.port)
        conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
        with contextlib.closing(conn):
            cold, count = timed_get(conn, token)
            report["cold_get_ms"] = cold * 1000
            timed_bare()  # psutil's first pass creates its Process objects; not what is compared
            endpoint, bare, counts = [], [], []
            log(f"{args.repeat} x (GET {PROCESSES} + bare psutil loop), {count} processes")
            for _ in range(args.repeat):
                seconds, count = timed_get(conn, token)
                endpoint.append(seconds)
                seconds, bare_count = timed_bare()
                bare.append(seconds)
                counts += [count, bare_count]
    report["processes"] = {"min": min(counts), "max": max(counts)}
    report["endpoint"], report["bare"] = summary(endpoint), summary(bare)
    report["ratio"] = {key: report["endpoint"][key] / report["bare"][key] for key in ("mean_ms", "p50_ms")}
    report["slower"] = report["ratio"]["p50_ms"] > 1.0


def text_report(report: dict) -> str:
    spawned = f", {report['spawned']} extra sleep processes" if report["spawned"] else ""
    lines = [f"processes bench: {report['repeat']} repetitions, alternating{spawned}"]
    if "endpoint" in report:
        procs = report["processes"]
        lines += [
            f"  processes listed           {procs['min']}..{procs['max']}",
            f"  cold first GET             {report['cold_get_ms']:8.2f} ms (waits for the sampler's first walk)",
            f"  GET {PROCESSES}  mean {report['endpoint']['mean_ms']:7.2f} ms   p50 {report['endpoint']['p50_ms']:7.2f} ms",
            f"  bare psutil loop           mean {report['bare']['mean_ms']:7.2f} ms   p50 {report['bare']['p50_ms']:7.2f} ms",
            f"  ratio endpoint/bare        mean x{report['ratio']['mean_ms']:.3f}     p50 x{report['ratio']['p50_ms']:.3f}",
        ]
        if report["slower"]:
            lines.append("  SLOWER: the endpoint's p50 is above the bare loop's (is it walking /proc per request?)")
    lines += [f"  ERROR: {e}" for e in report["errors"]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=50, metavar="N", help="repetitions of each (default 50)")
    parser.add_argument("--spawn", type=int, default=0, metavar="N",
                        help="start N extra sleep processes for the run (default 0)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    if args.repeat < 1 or args.spawn < 0:
        parser.error("--repeat must be at least 1 and --spawn at least 0")
    interrupt_on_sigterm()
    report = {"repeat": args.repeat, "spawned": args.spawn, "slower": False, "errors": []}
    try:
        run(args, report)
    except BenchError as exc:
        report["errors"].append(str(exc))
    except KeyboardInterrupt:
        report["errors"].append("interrupted (Ctrl-C or SIGTERM); everything started was stopped")
    print(json.dumps(report, indent=2) if args.json else text_report(report))
    return 2 if report["errors"] else 1 if report["slower"] else 0


if __name__ == "__main__":
    sys.exit(main())
