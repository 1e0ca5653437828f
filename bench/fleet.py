"""A fleet of EdgeHub links against one local Mosquitto: how they come back after a broker restart.

``--devices`` instances of the daemon's own client (``portald_plugins.edgehub.link.Link`` with its
``Outbox``; the outbox on an in-memory SQLite database, since the disk is not what is measured), all in
this one gevent-patched process, each with its own client id and topic, connect to a local Mosquitto.
Each queues ``--messages`` / 2 tag messages, the broker is restarted (SIGTERM, start again on the same
port after ``--outage`` seconds), each queues the other half while the broker is away, and the bench
records when every link is connected again.

Reported: the reconnect spread (reconnects per second after the restart, and the peak second as a share
of the fleet — the goal is ≤ 10 %/s), how long until the whole fleet was back, messages lost (received by
a ``mosquitto_sub`` with a persistent session vs queued), and the broker's CPU while the fleet came back.
Everything on 127.0.0.1.

    .venv/bin/python bench/fleet.py [--devices 2000] [--messages 10] [--outage 1.0] [--json]
        [--backoff-base S] [--reconnect-spread S]

500 and more links in one process need the link's ``poll()`` path: their sockets are numbered above
select()'s FD_SETSIZE (1024), which select() refuses ("filedescriptor out of range").
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import collections  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import resource  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import psutil  # noqa: E402

from portald_plugins.edgehub import Settings  # noqa: E402
from portald_plugins.edgehub import conncfg as cc  # noqa: E402
from portald_plugins.edgehub.link import Link  # noqa: E402
from portald_plugins.edgehub.outbox import Outbox  # noqa: E402
from portald_plugins.edgehub.service import run_blocking  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from edgehub_support import Mosquitto  # noqa: E402  (the broker the tests start)


class MemoryState:
    """A device's state folder holding only its connection setting, in memory (2,000 fsync'ed files
    would measure the disk, not the fleet)."""

    def __init__(self, cfg: cc.ConnCfg):
        self._files = {cc.FILE: cfg.model_dump(exclude_none=True)}

    def read_json(self, name: str, default=None):
        return self._files.get(name, default)


def log(message: str) -> None:
    print(f"[fleet] {message}", file=sys.stderr, flush=True)


def wait(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        gevent.sleep(interval)
    return predicate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--outage", type=float, default=1.0)
    parser.add_argument("--backoff-base", type=float, help="[plugins.edgehub] backoff_base_seconds (default: the default)")
    parser.add_argument("--reconnect-spread", type=float,
                        help="[plugins.edgehub] reconnect_spread_seconds (default: the default)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.getLogger("portald").setLevel(logging.ERROR)  # 2,000 links each saying "connection refused"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # ~4 descriptors per device, and the broker's
    overrides = {"backoff_base_seconds": args.backoff_base, "reconnect_spread_seconds": args.reconnect_spread}
    settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
    half = args.messages // 2
    with tempfile.TemporaryDirectory(prefix="edgehub-fleet-") as tmp:
        workdir = Path(tmp)
        broker = Mosquitto(workdir / "broker").start()
        received_file = open(workdir / "received.txt", "wb")
        sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", "Advantech/+/data",
                                "-q", "1", "-c", "-i", "fleet-sub"], stdout=received_file)
        links: list[Link] = []
        try:
            gevent.sleep(0.5)
            log(f"starting {args.devices} links")
            start = time.monotonic()
            for n in range(args.devices):
                if n % 100 == 0:
                    gevent.sleep(0)  # let the started ones connect while the rest are made
                state = MemoryState(cc.ConnCfg(mqttHost="127.0.0.1", mqttPort=broker.port, uuid=f"fleet-{n:05d}"))
                conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
                outbox = Outbox(conn, 1000, run_blocking)
                link = Link(settings, outbox, state, lambda n=n: f"fleet-{n:05d}")
                outbox.on_commit = link.data_arrived
                link.set_enabled(True)
                links.append(link)
            all_up = wait(lambda: all(link.connected for link in links), timeout=300)
            connected_s = time.monotonic() - start
            log(f"{sum(link.connected for link in links)} connected after {connected_s:.1f} s")

            def queue(first: int):
                for n, link in enumerate(links):
                    for k in range(first, first + half):
                        link.outbox.put("data", json.dumps({"d": {"device": n, "n": k}}).encode())

            queue(0)
            wait(lambda: all(link.outbox.depth == 0 for link in links) or False, timeout=60)
            before = {id(link): link.connects for link in links}
            log("restarting the broker")
            broker.stop()
            restart = time.monotonic()
            gevent.sleep(0.1)
            queue(half)
            gevent.sleep(max(0.0, args.outage - (time.monotonic() - restart)))
            broker.start()
            broker_proc = psutil.Process(broker.proc.pid)
            back_at: dict[int, float] = {}

            def watch():
                for link in links:
                    if id(link) not in back_at and link.connects > before[id(link)]:
                        back_at[id(link)] = time.monotonic() - restart
                return len(back_at) == len(links)

            all_back = wait(watch, timeout=600, interval=0.05)
            cpu = broker_proc.cpu_times()
            broker_cpu = cpu.user + cpu.system
            wanted = args.devices * half * 2
            wait(lambda: sum(1 for _ in open(workdir / "received.txt", "rb")) >= wanted, timeout=120, interval=0.5)
        finally:
            for link in links:
                link.stop()
                link.outbox.close()
            sub.terminate()
            sub.wait(5)
            received_file.close()
            broker.stop()
        received = set()
        duplicates = 0
        for line in (workdir / "received.txt").read_bytes().splitlines():
            try:
                doc = json.loads(line)["d"]
            except (ValueError, KeyError):
                continue
            key = (doc["device"], doc["n"])
            duplicates += key in received
            received.add(key)
    per_second = collections.Counter(int(t) for t in back_at.values())
    peak_second, peak = max(per_second.items(), key=lambda item: item[1]) if per_second else (0, 0)
    result = {
        "devices": args.devices, "all_connected": all_up, "first_connect_seconds": round(connected_s, 1),
        "outage_seconds": args.outage, "all_back": all_back,
        "back_after_seconds": round(max(back_at.values(), default=0), 1),
        "reconnects_per_second": [per_second.get(s, 0) for s in range(int(max(back_at.values(), default=0)) + 1)],
        "peak_second": peak_second, "peak_share_per_second": round(peak / args.devices, 3),
        "messages": wanted, "received_unique": len(received), "lost": wanted - len(received),
        "duplicates": duplicates, "broker_cpu_seconds_total": round(broker_cpu, 1),
        "settings": {"backoff_base_seconds": settings.backoff_base_seconds,
                     "backoff_max_seconds": settings.backoff_max_seconds,
                     "reconnect_spread_seconds": settings.reconnect_spread_seconds},
    }
    print(json.dumps(result, indent=None if args.json else 1))
    return 1 if result["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
