"""The real daemon as operators run it: ``portald run`` in a subprocess on 127.0.0.1, over HTTPS with
its generated certificate and over plain HTTP; clean stop on SIGTERM; PAM never freezes other requests;
TCP_NODELAY on accepted sockets."""
from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import gevent
import gevent.socket
import pytest
import requests
from gevent.pywsgi import WSGIHandler

from portald.server import NoDelayWSGIServer

ADMIN_NEW = "Fact0ry-Floor!"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, tmp_path: Path, http: bool):
        self.port = _free_port()
        self.state = tmp_path / "state"
        config = tmp_path / "portald.toml"
        config.write_text(f'plugins_dir = "{tmp_path / "plugins.d"}"\n[auth]\nfailure_delay_seconds = 0\n')
        args = [sys.executable, "-m", "portald", "run", "--sim", "--listen", f"127.0.0.1:{self.port}",
                "--state-dir", str(self.state), "--config", str(config)]
        if http:
            args.append("--http")
        self.scheme = "http" if http else "https"
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.session = requests.Session()
        # per request: a session-wide verify=False is overridden by REQUESTS_CA_BUNDLE
        self.verify = str(self.state / "tls-cert.pem") if not http else True
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.get("/platform/api/ping", timeout=1).text == "pong":
                    break
            except (requests.ConnectionError, requests.Timeout, OSError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()  # never leave a half-started daemon behind
                raise RuntimeError(f"daemon did not start: {self.proc.communicate(timeout=5)}")
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def get(self, path, **kw):
        return self.session.get(self.url + path, verify=self.verify, **kw)

    def post(self, path, **kw):
        return self.session.post(self.url + path, verify=self.verify, **kw)

    def put(self, path, **kw):
        return self.session.put(self.url + path, verify=self.verify, **kw)

    def admin_token(self) -> str:
        """Log in with the factory password, change it, log in again: a token good for everything."""
        token = self.post("/auth/login?m=2", json={"username": "admin", "password": "p@ssw0rd"}).json()["token"]
        changed = self.put("/auth/user/admin/password", json={"old": "p@ssw0rd", "new": ADMIN_NEW},
                           headers={"Authorization": f"Bearer {token}"})
        assert changed.status_code == 200, changed.text
        return self.post("/auth/login?m=2", json={"username": "admin", "password": ADMIN_NEW}).json()["token"]

    def stream_events(self, token: str, path: str, wanted: int, within: float = 8) -> int:
        """Open ``path`` as an event stream and count ``event: message`` frames until ``wanted`` came
        or ``within`` seconds passed; how many came."""
        with requests.get(self.url + path, stream=True, timeout=10,
                          headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}) as stream:
            lines = stream.iter_lines()
            deadline = time.monotonic() + within
            events = 0
            while events < wanted and time.monotonic() < deadline:
                if next(lines).startswith(b"event: message"):
                    events += 1
            return events

    def stop(self) -> float:
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return time.monotonic() - start


@pytest.fixture
def start_daemon(tmp_path):
    daemons = []

    def start(http=True) -> Daemon:
        daemon = Daemon(tmp_path, http)
        daemons.append(daemon)
        return daemon

    yield start
    for daemon in daemons:
        daemon.stop()


def test_https_with_generated_certificate_and_secure_cookie(start_daemon):
    daemon = start_daemon(http=False)
    cert = daemon.state / "tls-cert.pem"
    assert cert.exists() and (daemon.state / "tls-key.pem").stat().st_mode & 0o777 == 0o600
    # the generated certificate verifies for 127.0.0.1
    context = ssl.create_default_context(cafile=str(cert))
    with socket.create_connection(("127.0.0.1", daemon.port)) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    response = daemon.post("/auth/login?m=2", json={"username": "admin", "password": "p@ssw0rd"})
    assert response.status_code == 200
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_plain_http_on_the_tls_port_gets_a_hint_and_tls_still_works(start_daemon):
    daemon = start_daemon(http=False)
    assert daemon.proc.stdout.readline().strip() == f"portald: serving https://127.0.0.1:{daemon.port}/"
    hinted = requests.get(f"http://127.0.0.1:{daemon.port}/platform/api/ping", timeout=10)
    assert hinted.status_code == 400
    assert hinted.json() == {"message": f"this port speaks HTTPS: use https://127.0.0.1:{daemon.port}/"}
    # a hostile Host header is not echoed
    raw = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
    with raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: <script>\r\n\r\n")
        reply = b""
        while chunk := raw.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400") and b"<script>" not in reply and b"<this device>" in reply
    assert daemon.get("/platform/api/ping", timeout=10).text == "pong"


def test_plain_http_walkthrough_and_clean_sigterm(start_daemon):
    daemon = start_daemon(http=True)
    token = daemon.post("/auth/login?m=2", json={"username": "admin", "password": "p@ssw0rd"}).json()["token"]
    changed = daemon.put("/auth/user/admin/password",
                                 json={"old": "p@ssw0rd", "new": ADMIN_NEW},
                                 headers={"Authorization": f"Bearer {token}"})
    assert changed.status_code == 200
    token = daemon.post("/auth/login?m=2", json={"username": "admin", "password": ADMIN_NEW}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    hwmon = daemon.get("/platform/api/hwmon", headers=headers)
    assert hwmon.status_code == 200 and hwmon.json()["temperature"][0]["name"] == "CPU"
    assert daemon.get("/edgehub/api/profile", headers=headers).json()["hwmon"] == 1
    # the session's keep-alive connection is idle: the stop ends it at once instead of waiting it out
    assert daemon.stop() < 2
    assert daemon.proc.returncode == 0


def _readme_walkthrough() -> str:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## Walk-through with curl"):]
    return section[section.index("```sh\n") + 6:section.index("\n```", section.index("```sh\n"))]


def test_readme_walkthrough_runs_twice_in_a_row(start_daemon):
    daemon = start_daemon(http=True)
    script = _readme_walkthrough().replace("URL=https://127.0.0.1:8443", f"URL={daemon.url}", 1)
    assert f"URL={daemon.url}" in script
    for run in (1, 2):
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, (run, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout
        lines = result.stdout.splitlines()
        assert ('{"code":200}' in lines) == (run == 1)  # the password is changed only the first time
        profile = json.loads(next(line for line in lines if '"model:name"' in line))
        assert profile["hwmon"] == 1
        assert json.loads(lines[-1])["drivers"]["hwmon"]["plugin"] == "sim", lines[-1]


def test_failed_pam_login_does_not_block_other_requests(start_daemon, os_user_factory):
    user = os_user_factory()
    daemon = start_daemon(http=True)
    done = {}

    def bad_login():
        start = time.monotonic()
        requests.post(daemon.url + "/auth/login?m=0", json={"username": user.name, "password": "wrong"})
        done["login"] = time.monotonic() - start

    thread = threading.Thread(target=bad_login)
    thread.start()
    time.sleep(0.2)
    pings = []
    while thread.is_alive() and len(pings) < 50:
        start = time.monotonic()
        assert requests.get(daemon.url + "/platform/api/ping", timeout=5).text == "pong"
        pings.append(time.monotonic() - start)
    thread.join()
    assert done["login"] > 1.0, "PAM's failure delay should make the bad login slow"
    assert len(pings) >= 5 and max(pings) < done["login"] / 2


def test_accepted_sockets_have_tcp_nodelay():
    seen = []

    class Handler(WSGIHandler):
        def handle(self):
            seen.append(self.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            return super().handle()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"pong"]

    server = NoDelayWSGIServer(("127.0.0.1", 0), app, handler_class=Handler, log=None)
    server.start()
    try:
        client = gevent.socket.create_connection(("127.0.0.1", server.server_port))
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := client.recv(4096):
            reply += chunk
        client.close()
    finally:
        server.stop()
    assert reply.endswith(b"pong") and seen and seen[0] != 0


def test_check_lists_every_builtin_plugin_active_with_its_driver(tmp_path):
    env = dict(os.environ, PORTALD_PLUGINS_DIR=str(tmp_path / "none"), PORTALD_STATE_DIR=str(tmp_path / "s"))
    result = subprocess.run([sys.executable, "-m", "portald", "check", "--sim"], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in ("hwmon", "irtm", "linux", "sim", "system"):
        assert any(line.split()[:3] == [name, "active", "builtin"] for line in lines), name
    assert any(line.split()[:2] == ["hwmon", "sim.hwmon"] for line in lines)
    assert '"hwmon": 1' in result.stdout


def test_long_request_heads_and_bodies_pass_the_small_read_buffer(start_daemon):
    """The per-connection read buffer is 2 KiB; a head and a body far larger must still be read whole."""
    daemon = start_daemon(http=True)
    headers = {"X-Padding": "p" * 7000, "Content-Type": "application/json"}
    response = daemon.post("/auth/login?m=2", headers=headers,
                           data='{"username": "admin", "password": "p@ssw0rd", "x": "' + "y" * 50000 + '"}')
    assert response.status_code == 422 and "x" in response.json()["errors"]["validator"]
    ok = daemon.post("/auth/login?m=2", headers=headers, json={"username": "admin", "password": "p@ssw0rd"})
    assert ok.status_code == 200


def test_port_in_use_is_a_clear_error_not_a_traceback(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "portald", "run", "--sim", "--http", "--listen",
                                 f"127.0.0.1:{port}", "--state-dir", str(tmp_path / "s")],
                                capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, PORTALD_PLUGINS_DIR=str(tmp_path / "none")))
    assert result.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_silent_and_half_open_connections_are_dropped_after_the_idle_timeout(start_daemon, monkeypatch):
    monkeypatch.setenv("PORTALD_SERVER__IDLE_TIMEOUT_SECONDS", "1")
    daemon = start_daemon(http=True)
    silent = socket.create_connection(("127.0.0.1", daemon.port))
    half = socket.create_connection(("127.0.0.1", daemon.port))
    half.sendall(b"GET /platform/api/ping HTTP/1.1\r\nHost: x\r\n")
    for conn in (silent, half):
        conn.settimeout(5)
        start = time.monotonic()
        received = b""
        try:
            while chunk := conn.recv(1024):  # at most a 4xx answer, then the daemon closes
                received += chunk
        except ConnectionResetError:
            pass
        assert received == b"" or received.startswith(b"HTTP/1.1 4"), received
        assert time.monotonic() - start < 4
        conn.close()
    assert daemon.get("/platform/api/ping").text == "pong"


def test_an_event_stream_outlives_the_idle_timeout(start_daemon, monkeypatch):
    monkeypatch.setenv("PORTALD_SERVER__IDLE_TIMEOUT_SECONDS", "1")
    daemon = start_daemon(http=True)
    # sim hwmon changes every 2 s: three events keep the stream open > 4 s, past the idle limit
    assert daemon.stream_events(daemon.admin_token(), "/platform/api/hwmon", 3) == 3


def test_small_responses_go_out_in_one_send_and_every_shape_arrives_whole(monkeypatch):
    """QuietHandler sends a head and a small body together; empty, large and chunked bodies, one after
    the other on one keep-alive connection, must still arrive exactly as the application gave them."""
    from gevent.pywsgi import WSGIHandler as Base

    from portald.server import QuietHandler

    sends = []
    original = Base._sendall
    monkeypatch.setattr(Base, "_sendall", lambda self, data: (sends.append(len(data)), original(self, data))[1])
    big = b"b" * (QuietHandler.COALESCE_BYTES + 1)

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/chunked":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return iter([b"one", b"two"])
        body = {"/small": b"pong", "/empty": b"", "/big": big}[path]
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    server = NoDelayWSGIServer(("127.0.0.1", 0), app, handler_class=QuietHandler, log=None)
    server.start()
    try:
        client = gevent.socket.create_connection(("127.0.0.1", server.server_port))
        reader = client.makefile("rb")
        bodies = {}
        for path in ("/small", "/empty", "/big", "/chunked", "/small"):
            before = len(sends)
            client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert reader.readline().startswith(b"HTTP/1.1 200")
            head = {}
            while (line := reader.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                head[name.lower()] = value.strip()
            if "content-length" in head:
                bodies[path] = reader.read(int(head["content-length"]))
            else:
                assert head["transfer-encoding"] == "chunked"
                data = b""
                while (size := int(reader.readline(), 16)):
                    data += reader.read(size)
                    reader.readline()
                reader.readline()
                bodies[path] = data
            if path == "/small":
                assert len(sends) - before == 1, "head and a small body in one send"
        client.close()
    finally:
        server.stop()
    assert bodies == {"/small": b"pong", "/empty": b"", "/big": big, "/chunked": b"onetwo"}


def test_the_daemon_loads_the_token_libraries_with_the_first_token(start_daemon):
    """PyJWT and cryptography (~9.6 MiB resident together) are loaded with the first token, not at
    start; the keys are made by a short-lived child."""
    daemon = start_daemon(http=True)
    assert daemon.get("/platform/api/ping").status_code == 200
    assert "cryptography" not in Path(f"/proc/{daemon.proc.pid}/maps").read_text()
    token = daemon.post("/auth/login?m=2", json={"username": "admin", "password": "p@ssw0rd"}).json()["token"]
    # checked (a bad token is a 401), and good only for changing the default password
    assert daemon.get("/platform/api/hwmon", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert daemon.get("/platform/api/hwmon", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
    assert daemon.get("/auth/certificate").text.startswith("-----BEGIN CERTIFICATE-----")
    assert "cryptography" in Path(f"/proc/{daemon.proc.pid}/maps").read_text()
