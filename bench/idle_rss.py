"""Idle footprint of portald: resident memory and the CPU it burns while nobody calls it.

Starts portald --sim --http on a free 127.0.0.1 port with a temporary state dir, logs in (default
password -> change it -> full admin token) and reads /platform/api/hwmon once so that the
background sampler is running, then waits --wait seconds (default 60) without any request and
reports, from /proc/PID:
  - RSS (VmRSS of /proc/PID/status) at the start and at the end of the idle period, and the peak
    (VmHWM);
  - CPU seconds used during the idle period (utime+stime of /proc/PID/stat, end minus start), also
    as a percentage of one core.
Then stops portald (SIGTERM, then kill).

    .venv/bin/python bench/idle_rss.py [--wait 60] [--json]

Exit status: 0 fine, 2 setup error, hwmon failure or interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchlib import HWMON, BenchError, admin_token, get_json, interrupt_on_sigterm, log, portald


def cpu_seconds(pid: int) -> float:
    # Fields after "(comm)": state is field 3, utime field 14, stime field 15 (proc(5)).
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise BenchError(f"no {key} in /proc/{pid}/status")


def measure(wait: float, report: dict) -> None:
    with tempfile.TemporaryDirectory(prefix="portald-idle-") as tmp:
        log("starting portald ...")
        with portald(Path(tmp)) as daemon:
            pid = daemon.pid
            token = admin_token(daemon.port)
            try:
                get_json(daemon.port, HWMON, token)
            except BenchError as exc:
                report["errors"].append(f"hwmon read failed (sampler maybe not started): {exc}")
            report.update(pid=pid, rss_start_kib=status_kib(pid, "VmRSS"), threads=status_kib(pid, "Threads"))
            cpu_start, t_start = cpu_seconds(pid), time.monotonic()
            log(f"portald pid {pid} is idle; waiting {wait:g} s ...")
            time.sleep(wait)
            if daemon.proc.poll() is not None:
                raise BenchError(f"portald exited while idle:\n{daemon.log_tail()}")
            idle = time.monotonic() - t_start
            cpu = cpu_seconds(pid) - cpu_start
            report.update(idle_seconds=round(idle, 1), cpu_seconds=round(cpu, 3),
                          cpu_percent_of_one_core=round(100 * cpu / idle, 3),
                          rss_end_kib=status_kib(pid, "VmRSS"), rss_peak_kib=status_kib(pid, "VmHWM"))


def text_report(report: dict) -> str:
    lines = ["portald idle footprint (--sim --http, 127.0.0.1, after one login and one hwmon read)"]
    if "rss_end_kib" in report:
        mib = lambda kib: f"{kib / 1024:.1f} MiB"  # noqa: E731
        lines += [f"  pid {report['pid']}, {report['threads']} thread(s)",
                  f"  RSS: {mib(report['rss_start_kib'])} at start of idle, {mib(report['rss_end_kib'])} after "
                  f"{report['idle_seconds']} s (peak VmHWM {mib(report['rss_peak_kib'])})",
                  f"  CPU while idle: {report['cpu_seconds']:.2f} s in {report['idle_seconds']} s "
                  f"({report['cpu_percent_of_one_core']:.2f} % of one core)"]
    lines += [f"  ERROR: {error}" for error in report["errors"]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=60, metavar="SECONDS", help="idle period (default 60)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    interrupt_on_sigterm()
    report: dict = {"errors": []}
    try:
        measure(args.wait, report)
    except BenchError as exc:
        report["errors"].append(str(exc))
    except KeyboardInterrupt:
        report["errors"].append("interrupted (Ctrl-C or SIGTERM); portald was stopped")
    print(json.dumps(report, indent=2) if args.json else text_report(report))
    return 2 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
