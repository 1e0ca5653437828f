"""Idle footprint of portald: resident memory and the CPU it burns while nobody calls it, fresh and warm.

Each run starts portald --sim --http on a free 127.0.0.1 port with a new state dir whose admin
password is already set (so that one login gives a full token), then reads /proc/PID:
  - fresh: --wait seconds (default 60) after the first 200 answer, no request in between;
  - warm: then one admin login and one GET of each main endpoint (benchlib.MAIN_ENDPOINTS: every
    area's JSON resource, hwmon, systemperf and processes included, so their samplers run), then
    --wait seconds without any request.
Reported per state: RSS (VmRSS of /proc/PID/status) and CPU seconds used during the idle period
(utime+stime of /proc/PID/stat), also as a percentage of one core; and the peak RSS (VmHWM) of the
run. With --runs N (default 1) the daemon is started N times and the medians are reported.
Then portald is stopped (SIGTERM, then kill).

    .venv/bin/python bench/idle_rss.py [--wait 60] [--runs 3] [--json]

Exit status: 0 fine, 2 setup error, an endpoint answered 5xx, or interrupted.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import BenchError, cpu_seconds, interrupt_on_sigterm, log, portald, status_kib, warm_up


def idle(daemon, wait: float) -> dict:
    """Wait ``wait`` seconds without a request; RSS at the end and CPU used meanwhile."""
    pid = daemon.pid
    cpu_start, t_start = cpu_seconds(pid), time.monotonic()
    time.sleep(wait)
    if daemon.proc.poll() is not None:
        raise BenchError(f"portald exited while idle:\n{daemon.log_tail()}")
    elapsed = time.monotonic() - t_start
    cpu = cpu_seconds(pid) - cpu_start
    return {"rss_kib": status_kib(pid, "VmRSS"), "cpu_seconds": round(cpu, 3),
            "cpu_percent_of_one_core": round(100 * cpu / elapsed, 3), "idle_seconds": round(elapsed, 1)}


def one_run(wait: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="portald-idle-") as tmp:
        with portald(Path(tmp), seed_password=True) as daemon:
            log(f"portald pid {daemon.pid} started; fresh: waiting {wait:g} s ...")
            fresh = idle(daemon, wait)
            statuses = warm_up(daemon.port)
            log(f"warm: logged in, {len(statuses)} GETs; waiting {wait:g} s ...")
            warm = idle(daemon, wait)
            return {"pid": daemon.pid, "threads": status_kib(daemon.pid, "Threads"), "fresh": fresh, "warm": warm,
                    "rss_peak_kib": status_kib(daemon.pid, "VmHWM"), "warm_up_statuses": statuses}


def measure(wait: float, runs: int, report: dict) -> None:
    for run in range(runs):
        result = one_run(wait)
        report["runs"].append(result)
        log(f"run {run + 1}/{runs}: fresh {result['fresh']['rss_kib'] / 1024:.1f} MiB, "
            f"warm {result['warm']['rss_kib'] / 1024:.1f} MiB")
    for state in ("fresh", "warm"):
        report[state] = {key: statistics.median(r[state][key] for r in report["runs"])
                         for key in ("rss_kib", "cpu_seconds", "cpu_percent_of_one_core")}
    report["rss_peak_kib"] = statistics.median(r["rss_peak_kib"] for r in report["runs"])


def text_report(report: dict) -> str:
    runs = len(report["runs"])
    lines = [f"portald idle footprint (--sim --http, 127.0.0.1, {report['wait']:g} s idle per state, "
             f"{runs} run(s){', medians' if runs > 1 else ''})"]
    mib = lambda kib: f"{kib / 1024:.1f} MiB"  # noqa: E731
    for state, what in (("fresh", "no request since start"), ("warm", "after one login + one GET per main endpoint")):
        if state in report:
            s = report[state]
            lines.append(f"  {state:<6} RSS {mib(s['rss_kib'])}  CPU while idle {s['cpu_seconds']:.2f} s "
                         f"({s['cpu_percent_of_one_core']:.2f} % of one core)  [{what}]")
    if "rss_peak_kib" in report:
        lines.append(f"  peak   VmHWM {mib(report['rss_peak_kib'])}")
    if runs > 1:
        lines.append("  runs (fresh / warm MiB): " + ", ".join(
            f"{r['fresh']['rss_kib'] / 1024:.1f} / {r['warm']['rss_kib'] / 1024:.1f}" for r in report["runs"]))
    if report["runs"]:
        odd = {p: s for p, s in report["runs"][-1]["warm_up_statuses"].items() if s != 200}
        if odd:
            lines.append(f"  note: warm-up GETs not answering 200: {odd}")
    lines += [f"  ERROR: {error}" for error in report["errors"]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=60, metavar="SECONDS", help="idle period per state (60)")
    parser.add_argument("--runs", type=int, default=1, metavar="N", help="daemon starts; medians reported (1)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    interrupt_on_sigterm()
    report: dict = {"wait": args.wait, "runs": [], "errors": []}
    try:
        measure(args.wait, args.runs, report)
    except BenchError as exc:
        report["errors"].append(str(exc))
    except KeyboardInterrupt:
        report["errors"].append("interrupted (Ctrl-C or SIGTERM); portald was stopped")
    print(json.dumps(report, indent=2) if args.json else text_report(report))
    return 2 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
