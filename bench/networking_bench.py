"""What networking costs on the generic Linux board's netlink driver, in a network namespace of its own.

In one run, for each adapter count (default 4 and 32):
  1. creates a namespace ``dev`` with that many veth adapters (peers in a namespace ``peer``), each with
     an IPv4 and a link-local IPv6 address, and default routes through the first two;
  2. inside ``dev`` (``ip netns exec``): starts ``portald run --http`` on 127.0.0.1 on the generic Linux
     board (netlink: ``networkmanager = "never"``, stack "none"; confirmation window 3 s);
  3. measures
     - the daemon's CPU while one client streams the ``netifaces`` event for 20 s (the adapters are
       read every 2 s; an event goes out when they changed): % of one core, and per read;
     - GET /platform/api/networking/interfaces: p50 and p99 over 200 requests on one connection;
     - PUT ipv4config on the last adapter (snapshot + change + re-read), its latency;
     - the rollback: from the window's deadline until the kernel shows the old address again;
  4. removes both namespaces, also on errors and Ctrl-C.

    .venv/bin/python bench/networking_bench.py [--adapters 4 32] [--json]

Needs root and iproute2. Exit status: 0 fine, 2 setup error or interrupted.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchlib import BenchError, PORTALD, admin_token, cpu_seconds, free_port, interrupt_on_sigterm, log, started

INTERFACES = "/platform/api/networking/interfaces"
WINDOW = 3


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30).stdout


def build(dev: str, peer: str, count: int) -> None:
    ip("netns", "add", dev)
    ip("netns", "add", peer)
    ip("-n", dev, "link", "set", "lo", "up")
    for i in range(count):
        ip("-n", dev, "link", "add", f"v{i}", "type", "veth", "peer", "name", f"p{i}", "netns", peer)
        ip("-n", dev, "addr", "add", f"10.90.{i}.2/24", "dev", f"v{i}")
        ip("-n", dev, "link", "set", f"v{i}", "up")
        ip("-n", peer, "link", "set", f"p{i}", "up")
    for i in range(min(count, 2)):
        ip("-n", dev, "route", "add", "default", "via", f"10.90.{i}.1", "metric", str(100 * (i + 1)))


def inner(count: int) -> dict:
    """Runs inside the ``dev`` namespace."""
    with tempfile.TemporaryDirectory(prefix="portald-netbench-") as tmp:
        work = Path(tmp)
        config = work / "portald.toml"
        config.write_text(f'plugins_dir = "{work / "plugins.d"}"\n[changes]\nconfirm_timeout_seconds = {WINDOW}\n'
                          '[plugins.linux.networking]\nnetworkmanager = "never"\nstack = "none"\n'
                          'dhcp_release_command = ["true"]\n')
        state = work / "state"
        port = free_port()
        argv = [str(PORTALD), "run", "--http", "--listen", f"127.0.0.1:{port}", "--state-dir", str(state),
                "--config", str(config)]
        with started("portald", argv, port, work / "portald.log") as server:
            token = admin_token(port)
            headers = {"Authorization": f"Bearer {token}"}
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

            def call(method, path, body=None):
                conn.request(method, path, body=json.dumps(body) if body is not None else None,
                             headers={**headers, "Content-Type": "application/json"})
                answer = conn.getresponse()
                return answer.status, json.loads(answer.read() or b"null")

            status, adapters = call("GET", INTERFACES)
            if status != 200 or len(adapters) != count:
                raise BenchError(f"GET interfaces answered {status} with {len(adapters or [])} adapters, not {count}")

            # 1. CPU while one client streams the netifaces event
            # (the bus sends an event when the adapters changed; idle veths rarely do, but the sampler
            # reads them every 2 s all the same, which is the cost measured)
            stream = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            stream.request("GET", "/platform/api/events?events=netifaces", headers=headers)
            body = stream.getresponse()
            frames = []

            def read_events():
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    for line in body.fp:
                        if line.startswith(b"event: netifaces"):
                            frames.append(time.monotonic())

            reader = threading.Thread(target=read_events, daemon=True)
            before, start = cpu_seconds(server.pid), time.monotonic()
            reader.start()
            time.sleep(20)
            cpu = cpu_seconds(server.pid) - before
            elapsed = time.monotonic() - start
            reads = elapsed / 2.0
            stream.sock.shutdown(2)
            stream.close()
            frames = len(frames)

            # 2. GET latency
            times = []
            for _ in range(200):
                t0 = time.perf_counter()
                call("GET", INTERFACES)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()

            # 3. a change, 4. its rollback
            last = adapters[-1]
            old = f"10.90.{count - 1}.2/24"
            t0 = time.perf_counter()
            status, answer = call("PUT", f"/platform/api/networking/ipv4config/{last['ifIndex']}",
                                  {"ipAddress": f"10.91.{count - 1}.2", "subnetMask": "255.255.255.0",
                                   "defaultGateway": "", "primaryDNS": ""})
            put_ms = (time.perf_counter() - t0) * 1000
            if status != 200:
                raise BenchError(f"PUT answered {status}: {answer}")
            deadline = time.time() + answer["confirmation"]["secondsLeft"]
            while True:
                shown = json.loads(ip("-j", "-4", "addr", "show", "dev", last["name"]))
                if any(f"{a['local']}/{a['prefixlen']}" == old for link in shown for a in link["addr_info"]):
                    rollback_ms = (time.time() - deadline) * 1000
                    break
                if time.time() > deadline + 30:
                    raise BenchError("the change was not rolled back within 30 s of its deadline")
                time.sleep(0.01)
            conn.close()
        return {"adapters": count, "cpu_percent": round(100 * cpu / elapsed, 2), "events": frames,
                "cpu_ms_per_read": round(1000 * cpu / reads, 2),
                "get_p50_ms": round(statistics.median(times), 2), "get_p99_ms": round(times[int(len(times) * 0.99) - 1], 2),
                "put_ms": round(put_ms, 1), "rollback_after_deadline_ms": round(rollback_ms, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapters", type=int, nargs="+", default=[4, 32])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--inner", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    interrupt_on_sigterm()
    if args.inner is not None:
        print(json.dumps(inner(args.inner)))
        return 0
    results = []
    try:
        for count in args.adapters:
            dev, peer = f"pnb{os.getpid()}d{count}", f"pnb{os.getpid()}p{count}"
            try:
                build(dev, peer, count)
                log(f"{count} adapters: measuring inside {dev} ...")
                out = subprocess.run(["ip", "netns", "exec", dev, sys.executable, __file__, "--inner", str(count)],
                                     check=True, capture_output=True, text=True, timeout=300)
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            finally:
                for ns in (dev, peer):
                    subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    except (BenchError, subprocess.CalledProcessError, KeyboardInterrupt) as exc:
        detail = getattr(exc, "stderr", "") or ""
        print(f"networking_bench: {exc}\n{detail[-2000:]}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print("| adapters | daemon CPU, 1 netifaces stream | CPU per read | GET p50 | GET p99 | PUT (snapshot + change) | rollback after the deadline |")
        print("|---|---|---|---|---|---|---|")
        for r in results:
            print(f"| {r['adapters']} | {r['cpu_percent']} % of a core ({r['events']} events) | {r['cpu_ms_per_read']} ms | "
                  f"{r['get_p50_ms']} ms | {r['get_p99_ms']} ms | {r['put_ms']} ms | {r['rollback_after_deadline_ms']} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
