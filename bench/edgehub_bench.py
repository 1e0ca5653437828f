"""EdgeHub tag data end to end: ``POST /edgehub/api/data`` on ``portald --sim --http`` → the daemon's
outbox and MQTT link → a local Mosquitto → ``mosquitto_sub`` (QoS 1, persistent session).

  1. throughput: wrk POSTs one tag document on ``--connections`` keep-alive connections for
     ``--duration`` seconds; the figure is messages *received by the subscriber* per second, from the
     first POST until the subscriber has them all (so the outbox must drain too);
  2. nothing lost: ``--posts`` POSTs, each with a unique number, from 16 keep-alive connections while the
     broker is restarted twice (SIGTERM, start again on the same port, at ~30 % and ~65 % of the posts);
     every number answered 201 must reach the subscriber (counted: lost, and the duplicates QoS 1 may
     bring).

Everything on 127.0.0.1; everything started is stopped at the end, also on errors.

    .venv/bin/python bench/edgehub_bench.py [--duration 10] [--connections 32] [--posts 10000] [--json]

Exit status: 0 fine, 1 a message was lost, 2 setup error.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchlib import HOST, BenchError, admin_token, cpu_seconds, get_json, interrupt_on_sigterm, log, portald, request

# the broker the tests start (tests/edgehub_support.py): same config, same restart behaviour
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from edgehub_support import Mosquitto, wait_for  # noqa: E402

DATA = "/edgehub/api/data"
CONNECTION = "/edgehub/api/connection"
DEVICE = "bench-device"
TOPIC = f"Advantech/{DEVICE}/data"


class Subscriber:
    """mosquitto_sub writing one payload per line into a file."""

    def __init__(self, port: int, path: Path):
        self.path = path
        self._out = open(path, "wb")
        self.proc = subprocess.Popen(["mosquitto_sub", "-h", HOST, "-p", str(port), "-t", TOPIC, "-q", "1",
                                      "-c", "-i", "edgehub-bench-sub"], stdout=self._out, stderr=subprocess.DEVNULL)

    def lines(self) -> list[bytes]:
        self._out.flush()
        return self.path.read_bytes().splitlines()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)
        self._out.close()


def _received_numbers(sub: Subscriber) -> list[int]:
    numbers = []
    for line in sub.lines():
        try:
            numbers.append(json.loads(line)["d"]["n"])
        except (ValueError, KeyError, TypeError):
            pass
    return numbers


def throughput(port: int, token: str, sub: Subscriber, duration: float, connections: int, workdir: Path) -> dict:
    script = workdir / "post.lua"
    script.write_text('wrk.method = "POST"\n'
                      'wrk.body = \'{"temperature": 21.5, "state": "run", "alarm": false, "count": 12345}\'\n'
                      f'wrk.headers["Content-Type"] = "application/json"\n'
                      f'wrk.headers["Authorization"] = "Bearer {token}"\n')
    before = len(sub.lines())
    start = time.monotonic()
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration:g}s", "-s", str(script),
                          f"http://{HOST}:{port}{DATA}"], capture_output=True, text=True, check=True).stdout
    posted_s = time.monotonic() - start
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or errors:
        raise BenchError(f"wrk saw failures:\n{out}")
    # every answered POST (and the few in flight when wrk stopped) reaches the subscriber
    wait_for(lambda: len(sub.lines()) - before >= requests, timeout=120, interval=0.05)
    drained_s = time.monotonic() - start
    received = len(sub.lines()) - before
    return {"posts_201": requests, "post_rate": round(requests / posted_s), "received": received,
            "end_to_end_rate": round(received / drained_s), "drain_seconds_after_posting": round(drained_s - posted_s, 2)}


def no_loss(port: int, token: str, sub: Subscriber, broker: Mosquitto, posts: int, workers: int = 16) -> dict:
    lock = threading.Lock()
    accepted: list[int] = []
    failures: list[str] = []
    counter = iter(range(posts))

    def worker():
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            try:
                conn.request("POST", DATA, body=json.dumps({"n": n, "v": n * 0.5}), headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                with lock:
                    failures.append(f"{n}: {exc}")
                continue
            with lock:
                (accepted.append(n) if response.status == 201 else failures.append(f"{n}: HTTP {response.status}"))
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    restarts = []
    for share in (0.3, 0.65):
        wait_for(lambda: len(accepted) >= posts * share, timeout=300, interval=0.01)
        broker.stop()
        restarts.append(len(accepted))
        time.sleep(0.5)
        broker.start()
    for thread in threads:
        thread.join()
    posted_s = time.monotonic() - start
    wanted = set(accepted)
    try:
        wait_for(lambda: wanted <= set(_received_numbers(sub)), timeout=120, interval=0.2)
    except AssertionError:
        pass
    numbers = _received_numbers(sub)
    status = get_json(port, CONNECTION, token)
    return {"posts": posts, "answered_201": len(accepted), "refused_or_failed": len(failures),
            "broker_restarts_after_posts": restarts, "received_unique": len(wanted & set(numbers)),
            "lost": len(wanted - set(numbers)), "duplicates_seen_by_subscriber": len(numbers) - len(set(numbers)),
            "edgehub_duplicates_counter": status["outbox"]["duplicates"], "edgehub_dropped": status["outbox"]["dropped"],
            "seconds": round(time.monotonic() - start, 1), "posting_seconds": round(posted_s, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    interrupt_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="edgehub-bench-") as tmp:
        workdir = Path(tmp)
        broker = Mosquitto(workdir / "broker").start()
        sub = None
        try:
            sub = Subscriber(broker.port, workdir / "received.txt")
            with portald(workdir) as daemon:
                token = admin_token(daemon.port)
                conncfg = {"mqttHost": HOST, "mqttPort": broker.port, "uuid": DEVICE}
                status, _, body = request(daemon.port, "POST", CONNECTION, {"op": "connect", "conncfg": conncfg}, token)
                if status != 200:
                    raise BenchError(f"connect answered {status}: {body!r}")
                wait_for(lambda: get_json(daemon.port, CONNECTION, token)["status"] == "connected", timeout=30)
                cpu0 = cpu_seconds(daemon.pid)
                log(f"throughput: wrk {args.connections} connections, {args.duration:g} s")
                first = throughput(daemon.port, token, sub, args.duration, args.connections, workdir)
                first["daemon_cpu_seconds"] = round(cpu_seconds(daemon.pid) - cpu0, 1)
                log(f"nothing lost: {args.posts} posts, two broker restarts")
                second = no_loss(daemon.port, token, sub, broker, args.posts)
        finally:
            if sub is not None:
                sub.close()
            broker.stop()
    result = {"cores": os.cpu_count(), "throughput": first, "no_loss": second}
    print(json.dumps(result, indent=None if args.json else 1))
    return 1 if second["lost"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        log(f"error: {exc}")
        sys.exit(2)
