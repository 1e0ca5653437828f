"""HTTP throughput and latency of portald against a bare Flask + gevent "ceiling", plus a
TCP_NODELAY regression check.

In one run, all on 127.0.0.1:
  1. starts bench/ceiling_app.py (minimal Flask "pong" on gevent's WSGIServer, TCP_NODELAY on);
  2. starts portald --sim --http with a temporary state dir and gets a full admin token;
  3. with wrk (keep-alive, --latency) measures req/s, p50 and p99 of: ceiling /platform/api/ping,
     portald /platform/api/ping, portald /platform/api/hwmon (authenticated; checked first to
     answer 200 + JSON). Without wrk (and when it cannot be installed) bench/pyload.py is used;
  4. reports portald/ceiling ratios of req/s and p99;
  5. one keep-alive connection, sequential pings to portald for ~2 s: median above 20 ms means
     the ~40 ms Nagle/delayed-ACK stall is back, i.e. TCP_NODELAY is probably missing;
  6. stops everything it started, also on errors and Ctrl-C.

    .venv/bin/python bench/http_bench.py [--duration 10] [--connections 16] [--repeat 1] [--json]

With --repeat N the three targets are loaded N times in rotation (ceiling, ping, hwmon, ceiling, ...),
so that a busy machine slows all of them alike; each figure is the median over the rounds and each
ratio the median of the rounds' ratios.

Exit status: 0 fine, 1 TCP_NODELAY regression, 2 setup error or an endpoint misbehaved.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (HOST, HWMON, PING, BenchError, admin_token, free_port, get_json, interrupt_on_sigterm, log,
                      portald, started)

HERE = Path(__file__).resolve().parent
NODELAY_LIMIT_MS = 20.0
UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


# --- load generators --------------------------------------------------------------------------

def install_wrk() -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    log("wrk not found; trying apt-get install -y wrk")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "install", "-y", "wrk"], ["apt-get", "update"], ["apt-get", "install", "-y", "wrk"]):
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=180)
        if shutil.which("wrk"):
            return


def find_wrk(mode: str, notes: list[str]) -> str | None:
    """Path of wrk (installed with apt-get if missing); None means: use bench/pyload.py."""
    if mode == "python":
        notes.append("Python load generator (bench/pyload.py) as asked with --loadgen python; "
                     "it may be slower than the servers, so trust ratios more than req/s")
        return None
    if not shutil.which("wrk"):
        install_wrk()
    wrk = shutil.which("wrk")
    if wrk is None:
        if mode == "wrk":
            raise BenchError("wrk is not installed and could not be installed")
        notes.append("wrk not available and could not be installed: using the Python gevent load generator "
                     "(bench/pyload.py); it may be slower than the servers, so trust ratios more than req/s")
    return wrk


def run_wrk(wrk: str, port: int, path: str, args, token: str | None) -> dict:
    cmd = [wrk, f"-t{min(args.threads, args.connections)}", f"-c{args.connections}", f"-d{args.duration}s",
           "--latency", "--timeout", "5s"]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    cmd.append(f"http://{HOST}:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 30).stdout

    def find(pattern: str) -> str:
        match = re.search(pattern, out, re.M)
        if not match:
            raise BenchError(f"cannot read {pattern!r} from wrk output:\n{out}")
        return match[1]

    def ms(text: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()
        return float(number) * UNIT_MS[unit]

    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests": int(find(r"(\d+) requests in")), "rps": float(find(r"Requests/sec:\s+([\d.]+)")),
            "p50_ms": ms(find(r"^\s+50%\s+(\S+)")), "p99_ms": ms(find(r"^\s+99%\s+(\S+)")),
            "errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
            "non2xx": int(non2xx[1]) if non2xx else 0}


def run_pyload(port: int, path: str, args, token: str | None) -> dict:
    cmd = [sys.executable, str(HERE / "pyload.py"), "--port", str(port), "--path", path,
           "--connections", str(args.connections), "--duration", str(args.duration)]
    if token:
        cmd += ["--token", token]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 30)
    if out.returncode != 0:
        raise BenchError(f"bench/pyload.py failed:\n{out.stderr}")
    return json.loads(out.stdout)


def measure(wrk: str | None, name: str, port: int, path: str, args, token: str | None = None) -> dict:
    log(f"measuring {name} for {args.duration} s ...")
    result = run_wrk(wrk, port, path, args, token) if wrk else run_pyload(port, path, args, token)
    if result["non2xx"] or result["errors"]:
        log(f"  warning: {result['non2xx']} non-2xx responses, {result['errors']} socket errors")
    return result


# --- TCP_NODELAY check ------------------------------------------------------------------------

def nodelay_check(port: int, seconds: float = 2.0, min_requests: int = 200, max_seconds: float = 15.0) -> dict:
    """Sequential pings on one keep-alive connection; with Nagle on, each one stalls ~40 ms."""
    log(f"TCP_NODELAY check: sequential pings on one keep-alive connection for ~{seconds:.0f} s ...")
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    latencies, local_ports = [], set()
    start = time.perf_counter()
    try:
        while True:
            t0 = time.perf_counter()
            conn.request("GET", PING)
            local_ports.add(conn.sock.getsockname()[1])
            resp = conn.getresponse()
            body = resp.read()
            latencies.append((time.perf_counter() - t0) * 1000)
            if resp.status != 200:
                raise BenchError(f"TCP_NODELAY check: ping answered {resp.status}: {body[:200]!r}")
            elapsed = time.perf_counter() - start
            if (elapsed >= seconds and len(latencies) >= min_requests) or elapsed >= max_seconds:
                break
    finally:
        conn.close()
    return {"requests": len(latencies), "seconds": round(elapsed, 2), "connections": len(local_ports),
            "p50_ms": round(statistics.median(latencies), 3), "max_ms": round(max(latencies), 3),
            "limit_ms": NODELAY_LIMIT_MS}


# --- report -----------------------------------------------------------------------------------

RATIOS = {"portald ping / ceiling ping": ("portald ping", "ceiling ping"),
          "portald hwmon / ceiling ping": ("portald hwmon", "ceiling ping"),
          "portald hwmon / portald ping": ("portald hwmon", "portald ping")}


def ratios(rounds: list[dict]) -> dict:
    """Median over the rounds of each round's ratio (a round loads every target once)."""
    out = {}
    for label, (name, base) in RATIOS.items():
        pairs = [(r[name], r[base]) for r in rounds if name in r and base in r]
        if pairs:
            out[label] = {"rps": round(statistics.median(a["rps"] / b["rps"] for a, b in pairs), 3),
                          "p99": round(statistics.median(a["p99_ms"] / b["p99_ms"] for a, b in pairs), 3)}
    return out


def medians(rounds: list[dict]) -> dict:
    out = {}
    for name in rounds[0] if rounds else ():
        runs = [r[name] for r in rounds if name in r]
        out[name] = {key: statistics.median(run[key] for run in runs) for key in ("rps", "p50_ms", "p99_ms")}
        out[name].update(requests=sum(run["requests"] for run in runs), errors=sum(run["errors"] for run in runs),
                         non2xx=sum(run["non2xx"] for run in runs), rounds=len(runs))
    return out


def text_report(report: dict) -> str:
    rounds = f", {report['repeat']} rounds in rotation, medians" if report["repeat"] > 1 else ""
    lines = [f"portald HTTP benchmark ({report['loadgen']}, {report['connections']} connections, "
             f"{report['duration']} s per target{rounds}, {HOST})",
             f"  {'target':<30}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'requests':>10}{'errors':>8}{'non-2xx':>9}"]
    for name, r in report["results"].items():
        lines.append(f"  {report['paths'][name]:<30}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
                     f"{r['requests']:>10}{r['errors']:>8}{r['non2xx']:>9}")
    for label, r in report["ratios"].items():
        lines.append(f"  {label}: req/s x{r['rps']:.3f}, p99 x{r['p99']:.2f}")
    nd = report.get("nodelay")
    if nd:
        verdict = "REGRESSION" if report["regression"] else "OK"
        lines.append(f"  TCP_NODELAY check: {nd['requests']} sequential pings on {nd['connections']} keep-alive "
                     f"connection(s) in {nd['seconds']} s: p50 {nd['p50_ms']:.2f} ms, max {nd['max_ms']:.2f} ms "
                     f"({verdict}, limit {nd['limit_ms']:g} ms)")
    lines += [f"  note: {note}" for note in report["notes"]]
    lines += [f"  ERROR: {error}" for error in report["errors"]]
    if report["regression"]:
        lines.append(f"REGRESSION: TCP_NODELAY probably missing (p50 {nd['p50_ms']:.1f} ms)")
    return "\n".join(lines)


def run(args, report: dict) -> None:
    wrk = find_wrk(args.loadgen, report["notes"])
    report["loadgen"] = (subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.split(" [")[0].strip()
                         if wrk else "bench/pyload.py (Python fallback)")
    results = report["results"]
    with tempfile.TemporaryDirectory(prefix="portald-bench-") as tmp, contextlib.ExitStack() as stack:
        tmp = Path(tmp)
        log("starting the ceiling app and portald ...")
        cport = free_port()
        ceiling = stack.enter_context(started("ceiling app", [sys.executable, str(HERE / "ceiling_app.py"),
                                                              "--port", str(cport)], cport, tmp / "ceiling.log"))
        daemon = stack.enter_context(portald(tmp))
        token = admin_token(daemon.port)

        try:
            get_json(daemon.port, HWMON, token)
        except BenchError as exc:
            report["errors"].append(f"hwmon not measured: {exc}")
            hwmon_ok = False
        else:
            hwmon_ok = True
        rounds = []
        for number in range(args.repeat):
            if args.repeat > 1:
                log(f"round {number + 1}/{args.repeat}")
            this = {"ceiling ping": measure(wrk, "ceiling ping", ceiling.port, PING, args),
                    "portald ping": measure(wrk, "portald ping", daemon.port, PING, args)}
            if hwmon_ok:
                this["portald hwmon"] = measure(wrk, "portald hwmon", daemon.port, HWMON, args, token)
            rounds.append(this)
        report["rounds"] = rounds
        results.update(medians(rounds))
        for name, r in results.items():
            if r["non2xx"] or r["errors"]:
                report["errors"].append(f"{name}: {r['non2xx']} non-2xx responses, {r['errors']} socket errors")
        report["ratios"] = ratios(rounds)

        report["nodelay"] = nodelay_check(daemon.port)
        report["regression"] = report["nodelay"]["p50_ms"] > NODELAY_LIMIT_MS
        if daemon.proc.poll() is not None:
            report["errors"].append(f"portald exited during the run:\n{daemon.log_tail()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, metavar="SECONDS", help="per target (default 10)")
    parser.add_argument("--connections", type=int, default=16, metavar="N", help="keep-alive connections (16)")
    parser.add_argument("--threads", type=int, default=2, metavar="N", help="wrk threads (default 2)")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                        help="auto: wrk, installed if missing, else the Python fallback")
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="rounds over the targets (default 1)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    if args.duration < 1 or args.connections < 1 or args.threads < 1 or args.repeat < 1:
        parser.error("--duration, --connections, --threads and --repeat must be at least 1")
    interrupt_on_sigterm()
    paths = {"ceiling ping": f"ceiling {PING}", "portald ping": f"portald {PING}", "portald hwmon": f"portald {HWMON}"}
    report = {"loadgen": None, "duration": args.duration, "connections": args.connections, "repeat": args.repeat,
              "paths": paths, "results": {}, "ratios": {}, "nodelay": None, "regression": False, "notes": [],
              "errors": []}
    try:
        run(args, report)
    except BenchError as exc:
        report["errors"].append(str(exc))
    except KeyboardInterrupt:
        report["errors"].append("interrupted (Ctrl-C or SIGTERM); everything started was stopped")
    print(json.dumps(report, indent=2) if args.json else text_report(report))
    return 1 if report["regression"] else 2 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
