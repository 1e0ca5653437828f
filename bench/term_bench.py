"""The web terminal's speed: keystroke latency and output throughput through ``/platform/api/term/ws``.

In one run:
  1. creates a throw-away OS account (useradd, bash as its login shell) and a 50 MB text file it can
     read (random bytes as base64 lines of 100 characters);
  2. starts ``portald run --sim --http`` on 127.0.0.1 with ``[plugins.term] admin_shell_user`` set to
     that account, and opens a terminal with the admin token and a real WebSocket client
     (simple-websocket);
  3. measures
     - keystroke -> echoed output: the time from sending one ``1``+base64 input message (one
       character) to the first output message after it, ``--keys`` times (default 500; the line is
       cleared with Ctrl-U every 50 keys, outside the measurement): p50, p99, max;
     - ``cat`` of the file through the terminal: MB/s of the file's size from the command's Enter to
       the end marker, and the daemon's RSS growth during it (peak VmRSS sampled every 50 ms minus the
       VmRSS before);
  4. removes the account, the file and the state dir; stops the daemon (also on errors and Ctrl-C).

    .venv/bin/python bench/term_bench.py [--keys 500] [--megabytes 50] [--json]

Needs root (useradd; the daemon starts the shell as the account). Targets (issue 10): p50 <= 5 ms,
p99 <= 20 ms, >= 20 MB/s, RSS growth <= 10 MB. Exit status: 0 targets met, 1 a target missed, 2 setup
error or interrupted.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import pwd
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from simple_websocket import Client

from benchlib import HOST, BenchError, admin_token, interrupt_on_sigterm, log, started, status_kib, free_port, PORTALD

PATH = "/platform/api/term/ws"
MARK = "#cat-done#"  # "#" never occurs in the base64 file


def _input(text: str) -> str:
    return "1" + base64.b64encode(text.encode()).decode()


def _drain(ws, quiet: float = 0.2) -> None:
    while ws.receive(timeout=quiet) is not None:
        pass


def keystrokes(ws, count: int) -> list[float]:
    samples = []
    for i in range(count):
        if i % 50 == 0:
            ws.send(_input("\x15"))  # Ctrl-U: an empty line again
            _drain(ws)
        start = time.perf_counter()
        ws.send(_input("x"))
        while True:
            frame = ws.receive(timeout=5)
            if frame is None:
                raise BenchError("no echo within 5 s")
            if frame.startswith("1"):
                break
        samples.append((time.perf_counter() - start) * 1000)
    ws.send(_input("\x15"))
    _drain(ws)
    return samples


def throughput(ws, file: Path, pid: int) -> dict:
    before = status_kib(pid, "VmRSS")
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], status_kib(pid, "VmRSS"))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    received, tail = 0, b""
    wanted = f"{MARK}42".encode()
    start = time.perf_counter()
    ws.send(_input(f"cat {file}; echo '{MARK}'$((40+2))\r"))
    try:
        while True:
            frame = ws.receive(timeout=30)
            if frame is None:
                raise BenchError("the output stopped for 30 s")
            if not frame.startswith("1"):
                continue
            data = base64.b64decode(frame[1:])
            received += len(data)
            if wanted in tail + data:
                break
            tail = data[-len(wanted):]
    finally:
        took = time.perf_counter() - start
        done.set()
        sampler.join()
    size = file.stat().st_size
    if received < size:
        raise BenchError(f"only {received} bytes came for a file of {size}")
    return {"file_mb": size / 1e6, "seconds": took, "mb_per_s": size / 1e6 / took, "bytes_received": received,
            "rss_before_kib": before, "rss_peak_kib": peak[0], "rss_growth_mb": (peak[0] - before) / 1024}


def run(keys: int, megabytes: int) -> dict:
    if os.geteuid() != 0:
        raise BenchError("needs root (useradd; the daemon starts the shell as another account)")
    user = "pdb" + secrets.token_hex(4)
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/bash", user], check=True)
    try:
        with tempfile.TemporaryDirectory(prefix="portald-termbench-") as tmp:
            work = Path(tmp)
            work.chmod(0o755)
            data = work / "50mb.txt"
            with open(data, "wb") as out:
                raw = os.urandom(megabytes * 750_000)  # base64 makes 4/3 of it, plus newlines
                encoded = base64.b64encode(raw)
                out.write(b"\n".join(encoded[i:i + 100] for i in range(0, len(encoded), 100)) + b"\n")
            data.chmod(0o644)
            config = work / "portald.toml"
            config.write_text(f'[plugins.term]\nadmin_shell_user = "{user}"\n')
            port = free_port()
            argv = [str(PORTALD), "run", "--sim", "--http", "--listen", f"{HOST}:{port}",
                    "--state-dir", str(work / "state"), "--config", str(config)]
            with started("portald", argv, port, work / "portald.log") as server:
                token = admin_token(port)
                ws = Client.connect(f"ws://{HOST}:{port}{PATH}", subprotocols=["webtty"], receive_bytes=1 << 16,
                                    headers={"Authorization": f"Bearer {token}"})
                try:
                    ws.send('3{"columns":200,"rows":50}')
                    _drain(ws, 1.0)  # greeting and the first prompt
                    log(f"keystrokes: {keys}")
                    samples = sorted(keystrokes(ws, keys))
                    log(f"cat of {data.stat().st_size / 1e6:.1f} MB")
                    cat = throughput(ws, data, server.pid)
                finally:
                    ws.close()
    finally:
        uid = pwd.getpwnam(user).pw_uid
        for entry in Path("/proc").iterdir():  # whatever of its shell is left (procps may be missing)
            try:
                if entry.name.isdigit() and entry.stat().st_uid == uid:
                    os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                pass
        subprocess.run(["userdel", user], check=False, stderr=subprocess.DEVNULL)
    return {"keystroke_ms": {"p50": statistics.median(samples), "p99": samples[int(len(samples) * 0.99) - 1],
                             "max": samples[-1], "count": len(samples)},
            "cat": cat}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for flag, default in (("--keys", 500), ("--megabytes", 50)):
        parser.add_argument(flag, type=int, default=default)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    interrupt_on_sigterm()
    try:
        result = run(args.keys, args.megabytes)
    except (BenchError, KeyboardInterrupt, subprocess.CalledProcessError) as exc:
        log(f"ERROR: {exc}")
        return 2
    keys, cat = result["keystroke_ms"], result["cat"]
    met = keys["p50"] <= 5 and keys["p99"] <= 20 and cat["mb_per_s"] >= 20 and cat["rss_growth_mb"] <= 10
    result["targets_met"] = met
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"keystroke -> echo ({keys['count']}): p50 {keys['p50']:.2f} ms, p99 {keys['p99']:.2f} ms, "
              f"max {keys['max']:.2f} ms   (targets 5 / 20 ms)")
        print(f"cat {cat['file_mb']:.1f} MB: {cat['seconds']:.2f} s = {cat['mb_per_s']:.1f} MB/s (target 20), "
              f"daemon RSS {cat['rss_before_kib'] / 1024:.1f} -> peak {cat['rss_peak_kib'] / 1024:.1f} MB "
              f"(+{cat['rss_growth_mb']:.1f} MB, target 10)")
        print("targets met" if met else "TARGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
