"""Connection floods from one address (issue 8): slow request heads and silent connections, over plain
HTTP and over TLS, while a fresh client on another loopback address (127.0.0.2, which Linux routes
locally) pings the daemon.

The flood comes from 127.0.0.1: ``--scale`` times 1,100 connections that send one byte of a request
head (or of a TLS ClientHello) every 10 s, or 2,000 that send nothing. Like a real attacker it opens
a connection again 1 s after the daemon closes one. Meanwhile a fresh connection from 127.0.0.2 asks
``GET /platform/api/ping`` every 0.2 s (5 s timeout; a timeout counts as 5 s).

Goal: every ping answered, p95 < 250 ms, and no flood connection the daemon accepted is held longer
than the request deadline (10 s) plus 2 s. Figures also: how many flood connections were closed at
once (within 2 s of their TCP handshake: the per-address cap), how many were cut later and when, the
longest one held (from its TCP handshake), connects that failed or never completed, and the daemon's
RSS growth (peak during the flood, and left over 3 s after it).

``malformed_log`` sends 2,000 malformed requests and measures what they add to the daemon's log.
"""
from __future__ import annotations

import http.client
import resource
import selectors
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchlib import HOST, PING, PORTALD, BenchError, Server, free_port, portald, status_kib

LEGIT_SOURCE = "127.0.0.2"
DEADLINE = 10.0  # the daemon's default request_timeout_seconds
FLOOD_SECONDS = 30.0
PING_EVERY = 0.2
PING_TIMEOUT = 5.0
REOPEN_AFTER = 1.0
TRICKLE_EVERY = 10.0
HEAD = b"GET /platform/api/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\n" + b"X-Pad: " + b"p" * 64


def _client_hello() -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


class _TlsServer(Server):
    ready_what = "over TLS"

    def answers(self) -> bool:
        return _ping(self.port, tls=True, source=HOST, timeout=1.0) is not None


class _Started:
    def __init__(self, server: Server):
        self.server = server

    def __enter__(self):
        try:
            self.server.wait_ready()
        except BaseException:
            self.server.stop()
            raise
        return self.server

    def __exit__(self, *exc):
        self.server.stop()


def _daemon(workdir: Path, tls: bool):
    if not tls:
        return portald(workdir)
    port = free_port()
    argv = [str(PORTALD), "run", "--sim", "--listen", f"{HOST}:{port}", "--state-dir", str(workdir / "state")]
    return _Started(_TlsServer("portald", argv, port, workdir / "portald.log"))


_UNVERIFIED = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
_UNVERIFIED.check_hostname, _UNVERIFIED.verify_mode = False, ssl.CERT_NONE


def _ping(port: int, tls: bool, source: str = LEGIT_SOURCE, timeout: float = PING_TIMEOUT) -> float | None:
    """Seconds for one GET ping on a fresh connection from ``source``; None unless it answered pong."""
    start = time.monotonic()
    if tls:
        conn = http.client.HTTPSConnection(HOST, port, timeout=timeout, source_address=(source, 0),
                                           context=_UNVERIFIED)
    else:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request("GET", PING)
        response = conn.getresponse()
        ok = response.status == 200 and response.read() == b"pong"
    except OSError:
        return None
    finally:
        conn.close()
    return time.monotonic() - start if ok else None


class _Flood:
    """Keeps ``count`` connections from 127.0.0.1 open (reopening 1 s after the daemon closes one),
    each sending the next byte of ``trickle`` every 10 s (nothing when it is empty)."""

    def __init__(self, port: int, count: int, trickle: bytes):
        self.port, self.count, self.trickle = port, count, trickle
        self.selector = selectors.DefaultSelector()
        self.conns: dict[socket.socket, dict] = {}
        self.lifetimes: list[float] = []  # of connections the daemon closed, seconds from connect
        self.reopen_at: list[float] = []
        self.open_errors = 0
        self.never_established = 0
        self.stop = threading.Event()

    def _open(self) -> None:
        sock = socket.socket()
        sock.setblocking(False)
        try:
            sock.connect_ex((HOST, self.port))
        except OSError:
            self.open_errors += 1
            sock.close()
            self.reopen_at.append(time.monotonic() + REOPEN_AFTER)
            return
        now = time.monotonic()
        self.conns[sock] = {"start": None, "sent": 0, "next": now}
        self.selector.register(sock, selectors.EVENT_WRITE)  # until the TCP handshake completes

    def _closed(self, sock: socket.socket, now: float) -> None:
        info = self.conns.pop(sock)
        self.selector.unregister(sock)
        sock.close()
        if info["start"] is not None:
            self.lifetimes.append(now - info["start"])
        else:
            self.open_errors += 1
        self.reopen_at.append(now + REOPEN_AFTER)

    def run(self) -> None:
        for _ in range(self.count):
            self._open()
        while not self.stop.is_set():
            now = time.monotonic()
            for key, events in self.selector.select(timeout=0.2):
                info = self.conns.get(key.fileobj)
                if info is not None and info["start"] is None:
                    if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                        self._closed(key.fileobj, now)
                    else:  # established: from now on its lifetime counts
                        info["start"] = info["next"] = now
                        self.selector.modify(key.fileobj, selectors.EVENT_READ)
                    continue
                try:
                    data = key.fileobj.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self._closed(key.fileobj, now)
            if self.trickle:
                for sock, info in list(self.conns.items()):
                    if info["start"] is not None and now >= info["next"] and info["sent"] < len(self.trickle):
                        try:
                            sock.send(self.trickle[info["sent"]:info["sent"] + 1])
                            info["sent"] += 1
                        except BlockingIOError:  # not connected yet (the daemon's backlog is full)
                            pass
                        except OSError:
                            self._closed(sock, now)
                            continue
                        info["next"] = now + TRICKLE_EVERY
            due = [t for t in self.reopen_at if t <= now]
            if due:
                self.reopen_at = [t for t in self.reopen_at if t > now]
                for _ in due:
                    self._open()

    def close_all(self) -> float:
        """Close what is still open; returns the longest-held of those (seconds)."""
        now = time.monotonic()
        longest = 0.0
        self.never_established = sum(1 for info in self.conns.values() if info["start"] is None)
        for sock, info in list(self.conns.items()):
            if info["start"] is not None:
                longest = max(longest, now - info["start"])
            self.selector.unregister(sock)
            sock.close()
        self.conns.clear()
        self.selector.close()
        return longest


def _raise_own_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _flood_scenario(args, count: int, trickle: bytes, tls: bool) -> dict:
    _raise_own_file_limit()
    count = max(1, round(count * args.scale))
    with tempfile.TemporaryDirectory(prefix="abuse-conn-") as tmp, _daemon(Path(tmp), tls) as daemon:
        if _ping(daemon.port, tls) is None:
            raise BenchError(f"no ping answered from {LEGIT_SOURCE} before the flood")
        rss_before = status_kib(daemon.pid, "VmRSS")
        flood = _Flood(daemon.port, count, trickle)
        attacker = threading.Thread(target=flood.run, daemon=True)
        attacker.start()
        pings: list[float | None] = []
        rss_peak = rss_before
        end = time.monotonic() + FLOOD_SECONDS
        try:
            while time.monotonic() < end:
                started = time.monotonic()
                pings.append(_ping(daemon.port, tls))
                rss_peak = max(rss_peak, status_kib(daemon.pid, "VmRSS"))
                time.sleep(max(0.0, PING_EVERY - (time.monotonic() - started)))
        finally:
            flood.stop.set()
            attacker.join(timeout=10)
            still_open_longest = flood.close_all()
        time.sleep(3)
        rss_after = status_kib(daemon.pid, "VmRSS")
        after_flood = _ping(daemon.port, tls)
    answered = [p for p in pings if p is not None]
    as_timed = sorted(p if p is not None else PING_TIMEOUT for p in pings)
    p95 = as_timed[min(len(as_timed) - 1, int(len(as_timed) * 0.95))]
    cut_later = [t for t in flood.lifetimes if t >= 2.0]
    longest = max([still_open_longest] + cut_later) if (cut_later or still_open_longest) else 0.0
    figures = {
        "connections": count,
        "pings": len(pings),
        "unanswered": len(pings) - len(answered),
        "p50_ms": round(statistics.median(as_timed) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "max_ms": round(as_timed[-1] * 1000, 1),
        "closed_at_once": len(flood.lifetimes) - len(cut_later),
        "cut_later": len(cut_later),
        "cut_median_s": round(statistics.median(cut_later), 1) if cut_later else None,
        "longest_held_s": round(longest, 1),
        "connect_failed": flood.open_errors,
        "never_established": flood.never_established,
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_growth_peak_mib": round((rss_peak - rss_before) / 1024, 1),
        "rss_growth_after_mib": round((rss_after - rss_before) / 1024, 1),
    }
    figures["ok"] = (figures["unanswered"] == 0 and p95 < 0.25 and longest <= DEADLINE + 2
                     and after_flood is not None)
    return figures


def slow_headers(args) -> dict:
    """1,100 connections from one address send a request head one byte every 10 s (plain HTTP)"""
    return _flood_scenario(args, 1100, HEAD, tls=False)


def silent(args) -> dict:
    """2,000 connections from one address send nothing (plain HTTP)"""
    return _flood_scenario(args, 2000, b"", tls=False)


def slow_tls_handshake(args) -> dict:
    """1,100 connections from one address send a TLS ClientHello one byte every 10 s"""
    return _flood_scenario(args, 1100, _client_hello(), tls=True)


def silent_tls(args) -> dict:
    """2,000 connections from one address send nothing to the HTTPS port"""
    return _flood_scenario(args, 2000, b"", tls=True)


MALFORMED = (
    b"NOT A REQUEST LINE AT ALL\r\n\r\n",
    b"GET /platform/api/ping HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(101)) + b"\r\n",
    b"GET /platform/api/ping HTTP/7.1\r\nHost: x\r\n\r\n",
    b"GET /platform/api/ping HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
)


def _send_malformed(port: int, payload: bytes) -> bytes:
    with socket.create_connection((HOST, port), timeout=5) as conn:
        conn.sendall(payload)
        reply = b""
        try:
            while chunk := conn.recv(4096):
                reply += chunk
        except OSError:
            pass
    return reply[:12]


def malformed_log(args) -> dict:
    """2,000 malformed requests (bad request line, 101 headers, bad version, bad length) as fast as they go: what they add to the log"""
    count = max(1, round(2000 * args.scale))
    with tempfile.TemporaryDirectory(prefix="abuse-conn-") as tmp, portald(Path(tmp)) as daemon:
        log_path = daemon.log_path
        daemon._log.flush()
        size_before = log_path.stat().st_size
        replies: dict[bytes, int] = {}
        lock = threading.Lock()
        todo = iter(range(count))

        def worker():
            for i in todo:
                try:
                    reply = _send_malformed(daemon.port, MALFORMED[i % len(MALFORMED)])
                except OSError:
                    reply = b"(error)"
                with lock:
                    replies[reply] = replies.get(reply, 0) + 1

        start = time.monotonic()
        workers = [threading.Thread(target=worker) for _ in range(16)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        took = time.monotonic() - start
        time.sleep(0.5)
        added = log_path.read_bytes()[size_before:].decode(errors="replace")
    lines = added.splitlines()
    figures = {
        "requests": count,
        "seconds": round(took, 2),
        "answers": {k.decode(errors="replace").strip(): v for k, v in replies.items()},
        "log_bytes_added": len(added.encode()),
        "log_lines_added": len(lines),
        "error_lines": sum(1 for line in lines if "ERROR" in line),
        "tracebacks": added.count("Traceback"),
    }
    figures["ok"] = figures["tracebacks"] == 0 and figures["error_lines"] == 0 and figures["log_bytes_added"] < 16384
    return figures


SCENARIOS = {
    "slow_headers": slow_headers,
    "silent": silent,
    "slow_tls_handshake": slow_tls_handshake,
    "silent_tls": silent_tls,
    "malformed_log": malformed_log,
}

if __name__ == "__main__":
    sys.exit("run it through bench/abuse.py: .venv/bin/python bench/abuse.py slow_headers silent ...")
