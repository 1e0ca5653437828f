"""Request framing over a real socket (``portald run`` in a subprocess on 127.0.0.1): a chunked body past
``max_body_bytes`` is refused with 413 like a ``Content-Length`` one, never cut short and parsed; a body
within the cap still works; a foreign ``Host`` is refused by the real server too."""
from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import time

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from portald.request_guards import CappedInput

MAX_BODY = 4096
LOGIN = json.dumps({"username": "admin", "password": "p@ssw0rd"}).encode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _exchange(port: int, head: bytes, body_parts=()) -> tuple[int, dict, bytes]:
    """Send a raw request and read until the server closes; returns (status, lower-cased headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        for part in body_parts:
            try:
                sock.sendall(part)
            except OSError:
                break
        data = b""
        while True:  # every request here says Connection: close, or the server closes
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def _chunks(body: bytes, size: int = 1000) -> list[bytes]:
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return parts + [b"0\r\n\r\n"]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("framing")
    port = _free_port()
    config = tmp / "portald.toml"
    config.write_text(f'plugins_dir = "{tmp / "plugins.d"}"\n[server]\nmax_body_bytes = {MAX_BODY}\n'
                      "[auth]\nfailure_delay_seconds = 0\n")
    log = open(tmp / "daemon.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "portald", "run", "--sim", "--http", "--listen",
                             f"127.0.0.1:{port}", "--state-dir", str(tmp / "state"), "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _exchange(port, b"GET /platform/api/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                   b"Connection: close\r\n\r\n")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp / "daemon.log").read_text()
            time.sleep(0.1)
        yield port, tmp / "daemon.log"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _login_head(port: int, framing: bytes) -> bytes:
    return (b"POST /auth/login?m=2 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\n%s\r\n" % (port, framing))


def _padded(total: int, tail: bytes = b"") -> bytes:
    """The login, whitespace up to ``total`` bytes, then ``tail``: valid JSON cut at ``total``."""
    return LOGIN + b" " * (total - len(LOGIN)) + tail


def test_a_chunked_body_past_the_cap_is_413_not_cut_short_and_parsed(daemon):
    port, log_path = daemon
    body = _padded(MAX_BODY, b"   garbage past the cap")
    status, headers, answer = _exchange(port, _login_head(port, b"Transfer-Encoding: chunked\r\n"), _chunks(body))
    assert status == 413
    assert json.loads(answer) == {"message": "request body too large"}
    assert headers.get("connection") == "close"
    # the same body with Content-Length: the same answer
    status, _, answer = _exchange(port, _login_head(port, b"Content-Length: %d\r\n" % len(body)), [body])
    assert status == 413 and json.loads(answer) == {"message": "request body too large"}
    # well past the cap, sent in one go
    status, _, answer = _exchange(port, _login_head(port, b"Transfer-Encoding: chunked\r\n"),
                                  _chunks(_padded(MAX_BODY * 20), size=MAX_BODY * 2))
    assert status == 413
    assert "Traceback" not in log_path.read_text()


def test_a_chunked_body_up_to_the_cap_is_served(daemon):
    port, _ = daemon
    for body in (LOGIN, _padded(MAX_BODY)):
        status, _, answer = _exchange(port, _login_head(port, b"Transfer-Encoding: chunked\r\n"), _chunks(body))
        assert status == 200, answer
        assert json.loads(answer)["token"]
    # and the daemon goes on serving after a refused one
    _exchange(port, _login_head(port, b"Transfer-Encoding: chunked\r\n"), _chunks(_padded(MAX_BODY, b"x")))
    assert _exchange(port, b"GET /platform/api/ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")[0] == 200


def test_the_real_server_refuses_a_foreign_host(daemon):
    port, _ = daemon
    status, _, answer = _exchange(port, b"GET /platform/api/ping HTTP/1.1\r\nHost: rebind.attacker.example:%d\r\n"
                                        b"Connection: close\r\n\r\n" % port)
    assert status == 421 and "message" in json.loads(answer)
    status, _, answer = _exchange(port, _login_head(port, b"Content-Length: %d\r\n" % len(LOGIN))
                                  .replace(b"Host: 127.0.0.1", b"Host: rebind.attacker.example"), [LOGIN])
    assert status == 421 and "token" not in json.loads(answer)
    status, _, _ = _exchange(port, b"GET /platform/api/ping HTTP/1.1\r\nHost: [::1]:%d\r\nConnection: close\r\n\r\n"
                             % port)
    assert status == 200


def test_capped_input_reads_up_to_the_limit_and_refuses_one_byte_more():
    assert CappedInput(io.BytesIO(b"a" * 10), 10).read() == b"a" * 10
    capped = CappedInput(io.BytesIO(b"a" * 10), 10)
    assert capped.read(4) + capped.read(6) == b"a" * 10 and capped.read(5) == b""
    with pytest.raises(RequestEntityTooLarge):
        CappedInput(io.BytesIO(b"a" * 11), 10).read(10)
    with pytest.raises(RequestEntityTooLarge):
        CappedInput(io.BytesIO(b"a" * 11), 10).read()
    capped = CappedInput(io.BytesIO(b"a" * 11), 10)
    with pytest.raises(RequestEntityTooLarge):
        capped.read(4), capped.read(6)
    assert capped.overflowed
