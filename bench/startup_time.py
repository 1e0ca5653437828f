"""Start-up time of portald: from exec to the first 200 answer, several runs, median.

Each run starts ``portald run --sim --http`` on a free 127.0.0.1 port and sends
``GET /platform/api/ping`` every 2 ms (a refused connection costs microseconds) until one answers 200;
the time from just before the exec to that answer is the run's figure. Then the daemon is stopped.
Two kinds of start, --runs of each (default 7):
  - first start: a new, empty state dir (the JWT signing key and certificate are made);
  - restart: the state dir of an earlier run (what a device does at every boot).
With --tls the daemon serves HTTPS (its certificate, too, is made at first start) and the poll is an
HTTPS request that does not check the certificate.

Python's bytecode cache counts: compiling portald's ~130 modules from source adds ~70 ms to a start. An
installed daemon has its .pyc files, so the daemon runs without PYTHONDONTWRITEBYTECODE and one
untimed start comes first to write them. --no-bytecode-cache measures a source checkout run with
PYTHONDONTWRITEBYTECODE=1 instead: the __pycache__ folders of portald's own packages are removed
first and none are written, so every start compiles portald's modules (the libraries keep theirs).

    .venv/bin/python bench/startup_time.py [--runs 7] [--tls] [--no-bytecode-cache] [--json]

Other processes on the machine slow a start down: check `uptime`, and compare medians.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (HOST, PING, PORTALD, BenchError, _die_with_parent, free_port, interrupt_on_sigterm, log,
                      stop_process)

TIMEOUT = 30.0


def _ping(port: int, tls: bool) -> int:
    if tls:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        conn = http.client.HTTPSConnection(HOST, port, timeout=2, context=context)
    else:
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", PING)
        return conn.getresponse().status
    finally:
        conn.close()


def one_start(state: Path, log_path: Path, tls: bool, env: dict) -> float:
    """Seconds from exec to the first 200 of a daemon on ``state``."""
    port = free_port()
    argv = [str(PORTALD), "run", "--sim", "--listen", f"{HOST}:{port}", "--state-dir", str(state)]
    if not tls:
        argv.append("--http")
    with open(log_path, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, preexec_fn=_die_with_parent)
        try:
            while True:
                try:
                    if _ping(port, tls) == 200:
                        return time.perf_counter() - start
                except OSError:
                    pass
                if proc.poll() is not None:
                    raise BenchError(f"portald exited with code {proc.returncode}: {log_path.read_text()[-2000:]}")
                if time.perf_counter() - start > TIMEOUT:
                    raise BenchError(f"no 200 within {TIMEOUT:g} s: {log_path.read_text()[-2000:]}")
                time.sleep(0.002)
        finally:
            stop_process(proc, "portald")


def drop_own_bytecode() -> None:
    """Remove the __pycache__ folders of the portald and portald_plugins packages under test."""
    import shutil

    found = subprocess.run([sys.executable, "-c", "import portald, portald_plugins; "
                            "print(portald.__path__[0]); print(portald_plugins.__path__[0])"],
                           capture_output=True, text=True, check=True).stdout.split()
    for root in found:
        for cache in Path(root).rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)


def measure(runs: int, tls: bool, bytecode_cache: bool) -> dict:
    first, again = [], []
    with tempfile.TemporaryDirectory(prefix="portald-startup-") as tmp:
        tmp = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
        if bytecode_cache:
            one_start(tmp / "state-warm-up", tmp / "portald.log", tls, env)  # writes the .pyc files
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            drop_own_bytecode()
        for run in range(runs):
            state = tmp / f"state-{run}"
            first.append(one_start(state, tmp / "portald.log", tls, env))
            again.append(one_start(state, tmp / "portald.log", tls, env))
            log(f"run {run + 1}/{runs}: first start {first[-1]:.3f} s, restart {again[-1]:.3f} s")

    def summary(values: list[float]) -> dict:
        return {"median_s": round(statistics.median(values), 3), "min_s": round(min(values), 3),
                "max_s": round(max(values), 3), "runs_s": [round(v, 3) for v in values]}

    return {"runs": runs, "tls": tls, "bytecode_cache": bytecode_cache, "first_start": summary(first),
            "restart": summary(again)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, metavar="N", help="starts of each kind (default 7)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS (default: --http)")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="compile portald's own modules at every start (a source checkout, no .pyc)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    interrupt_on_sigterm()
    try:
        report = measure(args.runs, args.tls, not args.no_bytecode_cache)
    except (BenchError, KeyboardInterrupt) as exc:
        print(f"startup_time: {exc or 'interrupted'}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    cache = "with .pyc files" if report["bytecode_cache"] else "portald's modules compiled at each start"
    print(f"portald start-up, exec to first 200 on {PING} (--sim, {'HTTPS' if args.tls else '--http'}, {cache}, "
          f"{args.runs} runs each)")
    for kind in ("first_start", "restart"):
        s = report[kind]
        print(f"  {kind.replace('_', ' '):<12} median {s['median_s']:.3f} s  (min {s['min_s']:.3f}, "
              f"max {s['max_s']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
