"""Hostile connections against the real daemon (issue 8): the request-head deadline counted from the
connection's start (plain and TLS), the per-client-address connection cap (a second loopback address
stands for a legitimate client), event streams not cut by either, and malformed requests logged as
one rate-limited INFO line without a traceback. Behaviour only: timings are loose bounds."""
from __future__ import annotations

import signal
import socket
import ssl
import time

import pytest
import requests

from test_server import start_daemon  # noqa: F401 (the fixture, shared with test_server)


def _connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), source_address=(source, 0), timeout=5)
    return conn


def _closed_after(conn: socket.socket, trickle: bytes = b"", every: float = 0.3, limit: float = 8) -> float:
    """Send ``trickle`` a byte at a time (every ``every`` s) until the daemon closes; seconds taken."""
    start = time.monotonic()
    conn.settimeout(every)
    sent = 0
    while time.monotonic() - start < limit:
        if sent < len(trickle):
            try:
                conn.sendall(trickle[sent:sent + 1])
            except OSError:
                break
            sent += 1
        try:
            if not conn.recv(4096):
                break
        except socket.timeout:
            continue
        except OSError:
            break
    return time.monotonic() - start


def test_a_trickled_request_head_is_cut_at_the_deadline_not_kept_alive_by_each_byte(start_daemon, monkeypatch):
    monkeypatch.setenv("PORTALD_SERVER__REQUEST_TIMEOUT_SECONDS", "1")
    daemon = start_daemon(http=True)
    conn = _connect(daemon.port)
    head = b"GET /platform/api/ping HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
    took = _closed_after(conn, head)  # a byte every 0.3 s: the 30 s idle limit never fires
    conn.close()
    assert took < 3, f"the trickling client was kept for {took:.1f} s"
    assert daemon.get("/platform/api/ping").text == "pong"


def test_a_trickled_tls_handshake_is_cut_at_the_deadline(start_daemon, monkeypatch):
    monkeypatch.setenv("PORTALD_SERVER__REQUEST_TIMEOUT_SECONDS", "1")
    daemon = start_daemon(http=False)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    hello = ssl.MemoryBIO()
    out = ssl.MemoryBIO()
    tls = context.wrap_bio(hello, out)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    client_hello = out.read()
    conn = _connect(daemon.port)
    took = _closed_after(conn, client_hello)
    conn.close()
    assert took < 3, f"the trickling TLS client was kept for {took:.1f} s"
    assert daemon.get("/platform/api/ping").text == "pong"


def test_one_address_cannot_take_more_than_its_share_of_connections(start_daemon, monkeypatch):
    monkeypatch.setenv("PORTALD_SERVER__MAX_CONNECTIONS_PER_CLIENT", "3")
    daemon = start_daemon(http=True)
    held = [_connect(daemon.port) for _ in range(3)]
    try:
        time.sleep(0.3)
        extra = _connect(daemon.port)
        extra.settimeout(3)
        start = time.monotonic()
        try:
            assert extra.recv(1024) == b""  # closed at once, no answer
        except ConnectionResetError:
            pass
        assert time.monotonic() - start < 2
        extra.close()
        # another address still gets in
        other = requests.Session()
        other.mount("http://", _SourceAdapter("127.0.0.2"))
        assert other.get(daemon.url + "/platform/api/ping", timeout=5).text == "pong"
    finally:
        for conn in held:
            conn.close()
    # the slots are given back when those connections close
    deadline = time.monotonic() + 5
    while True:
        try:
            if requests.get(daemon.url + "/platform/api/ping", timeout=2).text == "pong":
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "the address's slots were not given back"
        time.sleep(0.2)


class _SourceAdapter(requests.adapters.HTTPAdapter):
    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def test_keep_alive_requests_after_the_deadline_and_event_streams_are_not_cut(start_daemon, monkeypatch):
    monkeypatch.setenv("PORTALD_SERVER__REQUEST_TIMEOUT_SECONDS", "1")
    daemon = start_daemon(http=True)
    session = requests.Session()
    assert session.get(daemon.url + "/platform/api/ping").text == "pong"
    time.sleep(1.5)  # idle on a keep-alive connection longer than the head deadline, within the idle limit
    assert session.get(daemon.url + "/platform/api/ping").text == "pong"
    # sim hwmon changes every 2 s: two events keep the stream open > 2 s, past the head deadline
    assert daemon.stream_events(daemon.admin_token(), "/platform/api/hwmon", 2) == 2


def test_malformed_requests_are_one_rate_limited_info_line_each_without_traceback(start_daemon):
    daemon = start_daemon(http=True)
    too_many = b"GET /platform/api/ping HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(120)) + b"\r\n"
    bad_line = b"NOT A REQUEST LINE AT ALL\r\n\r\n"
    for payload in [too_many, bad_line] * 20:
        conn = _connect(daemon.port)
        conn.sendall(payload)
        reply = b""
        try:
            while chunk := conn.recv(4096):
                reply += chunk
        except ConnectionResetError:
            pass
        conn.close()
        assert reply.startswith(b"HTTP/1.1 400"), reply
    assert daemon.get("/platform/api/ping").text == "pong"
    daemon.proc.send_signal(signal.SIGTERM)
    _, log = daemon.proc.communicate(timeout=10)
    assert "Traceback" not in log
    lines = [line for line in log.splitlines() if "malformed request" in line]
    assert 1 <= len(lines) <= 12, lines
    assert all("ERROR" not in line for line in lines)
