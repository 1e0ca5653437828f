"""Framing and header scenarios of issue 8, against a real daemon over a socket (127.0.0.1 only).

chunked_oversize: a login whose chunked body is larger than ``max_body_bytes`` (1 MiB): valid JSON up to
    the cap, then whitespace and trailing garbage past it. Parsed whole it is not JSON (422); cut at the
    cap it is a valid login (200). Goal: 413 like the same body with ``Content-Length``.
host_header: requests naming a foreign host in ``Host`` (what a DNS-rebinding page sends), including a
    login. Goal: refused (421/400, with a ``message``) while ``127.0.0.1:<port>``, ``localhost`` and
    ``[::1]:<port>`` still answer 200.
"""
from __future__ import annotations

import json
import socket
import tempfile
from pathlib import Path

from benchlib import BENCH_PASSWORD, HOST, PING, portald

MAX_BODY = 1024 * 1024  # the default [server] max_body_bytes


def _read_response(sock: socket.socket, timeout: float = 10.0) -> tuple[int, bytes]:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            break
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    if not head:
        return 0, b""
    status = int(head.split(b" ", 2)[1])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while length is not None and len(body) < length:
        part = sock.recv(65536)
        if not part:
            break
        body += part
    return status, body


def _oversize_login_body() -> bytes:
    login = json.dumps({"username": "admin", "password": BENCH_PASSWORD}).encode()
    return login + b" " * (MAX_BODY - len(login)) + b" " * 4096 + b"garbage past the cap"


def _send(port: int, head: bytes, chunks: list[bytes] = ()) -> tuple[int, bytes]:
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError:  # the daemon answered and closed before taking the whole body
            pass
        return _read_response(sock)


def _chunked(body: bytes, size: int = 65536) -> list[bytes]:
    out = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return out + [b"0\r\n\r\n"]


def chunked_oversize(args) -> dict:
    """A chunked login body past max_body_bytes: must be 413 like Content-Length, not cut and parsed."""
    body = _oversize_login_body()
    with tempfile.TemporaryDirectory(prefix="abuse-framing-") as work, \
            portald(Path(work), seed_password=True) as server:
        port = server.port
        base = (f"POST /auth/login?m=2 HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                "Content-Type: application/json\r\nConnection: close\r\n").encode()
        chunked_status, chunked_body = _send(port, base + b"Transfer-Encoding: chunked\r\n\r\n", _chunked(body))
        length_status, length_body = _send(port, base + b"Content-Length: %d\r\n\r\n" % len(body), [body])
        small = json.dumps({"username": "admin", "password": BENCH_PASSWORD}).encode()
        small_status, _ = _send(port, base + b"Transfer-Encoding: chunked\r\n\r\n", _chunked(small))
        alive = _send(port, f"GET {PING} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode())[0]
    return {"ok": chunked_status == 413 and length_status == 413 and small_status == 200 and alive == 200,
            "body_bytes": len(body), "chunked_status": chunked_status,
            "chunked_answer": chunked_body[:80].decode(errors="replace").strip(),
            "content_length_status": length_status, "small_chunked_login_status": small_status,
            "ping_after": alive}


def host_header(args) -> dict:
    """Foreign Host names (DNS rebinding) refused, the daemon's own names and addresses still served."""
    login = json.dumps({"username": "admin", "password": BENCH_PASSWORD}).encode()
    with tempfile.TemporaryDirectory(prefix="abuse-framing-") as work, \
            portald(Path(work), seed_password=True) as server:
        port = server.port

        def get(host: str) -> tuple[int, bytes]:
            return _send(port, f"GET {PING} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())

        foreign = {host: get(host) for host in ("rebind.attacker.example", f"rebind.attacker.example:{port}",
                                                "192.0.2.1", "127.0.0.1.nip.io")}
        login_head = (f"POST /auth/login?m=2 HTTP/1.1\r\nHost: rebind.attacker.example:{port}\r\n"
                      f"Content-Type: application/json\r\nContent-Length: {len(login)}\r\n"
                      "Connection: close\r\n\r\n").encode()
        foreign["login via rebind.attacker.example"] = _send(port, login_head, [login])
        own = {host: get(host)[0] for host in (f"{HOST}:{port}", "localhost", f"localhost:{port}", f"[::1]:{port}",
                                               HOST)}
    refused = {host: status for host, (status, _) in foreign.items()}
    messages_ok = all(status in (400, 421) and b'"message"' in body for status, body in foreign.values())
    return {"ok": messages_ok and all(status == 200 for status in own.values()),
            "foreign_hosts": refused, "own_hosts": own}


SCENARIOS = {"chunked_oversize": chunked_oversize, "host_header": host_header}
