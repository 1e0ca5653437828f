"""Remote desktop end to end: a real daemon subprocess, a real Xvfb, Debian's real x11vnc, and a VNC
client written here speaking RFB 3.8 over the daemon's WebSocket (``simple_websocket.Client``): the
version, VNC authentication (the DES challenge) with the password the POST returned, ClientInit,
ServerInit with the Xvfb's size, and a full framebuffer update. Then the refusals (unknown, expired,
used ids; the cap; 401; 403 for an OS user) and the VNC server's lifetime (gone after the last
session, after an unused id expires, at daemon shutdown; its password file gone once it started)."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests
import simple_websocket
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, Request
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from portald.x11vnc import _reason
from portald_plugins.rdesk.sessions import new_password

pytestmark = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("x11vnc")),
                                reason="needs Debian's xvfb and x11vnc (make debs-test)")
ADMIN_NEW = "rdesk-Admin-1"
SIM_SMALL = '[plugins.sim.rdesk]\nscreen = "320x200x24"\n'
WIDTH, HEIGHT = 640, 480


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_xvfb():
    """A private Xvfb (first free display number, no TCP): its display name."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", f"{WIDTH}x{HEIGHT}x24",
                             "-nolisten", "tcp"], pass_fds=(write_end,), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        with os.fdopen(read_end, "rb") as said:
            number = said.readline().strip().decode()
        assert number.isdigit(), "Xvfb did not start"
        yield f":{number}"
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def xvfb():
    with running_xvfb() as display:
        yield display


class Daemon:
    """``portald run`` (plain HTTP unless ``tls``) on a free loopback port with this test's config;
    stopped at the end."""

    def __init__(self, tmp_path: Path, config: str, sim: bool, tls: bool = False):
        self.port, self.tmp, self.tls = _free_port(), tmp_path / "daemon-tmp", tls
        # per request: the daemon's self-signed certificate, generated at its first start
        self.verify = str(tmp_path / "state" / "tls-cert.pem") if tls else True
        self.tmp.mkdir()
        (tmp_path / "portald.toml").write_text(
            f'plugins_dir = "{tmp_path / "plugins.d"}"\n[auth]\nfailure_delay_seconds = 0\n' + config)
        argv = [sys.executable, "-m", "portald", "run", "--listen", f"127.0.0.1:{self.port}",
                "--state-dir", str(tmp_path / "state"), "--config", str(tmp_path / "portald.toml")]
        self.log = tmp_path / "daemon.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv + ([] if tls else ["--http"]) + (["--sim"] if sim else []),
                                         stdout=subprocess.DEVNULL, stderr=log,
                                         env=dict(os.environ, TMPDIR=str(self.tmp)))
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.get("/platform/api/ping", timeout=1).text == "pong":
                    break
            except (requests.RequestException, OSError):  # OSError: no certificate yet
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"daemon did not start: {self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        token = self.login("admin", "p@ssw0rd", 2)
        changed = requests.put(self.url + "/auth/user/admin/password", json={"old": "p@ssw0rd", "new": ADMIN_NEW},
                               headers={"Authorization": f"Bearer {token}"}, timeout=10, verify=self.verify)
        assert changed.status_code == 200, changed.text
        self.token = self.login("admin", ADMIN_NEW, 2)

    url = property(lambda self: f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}")

    def get(self, path: str, **options) -> requests.Response:
        return requests.get(self.url + path, verify=self.verify, **options)

    def login(self, user: str, password: str, m: int) -> str:
        answer = requests.post(f"{self.url}/auth/login?m={m}", json={"username": user, "password": password},
                               timeout=10, verify=self.verify)
        assert answer.status_code == 200, answer.text
        return answer.json()["token"]

    def config(self, token: str | None = "admin") -> requests.Response:
        token = self.token if token == "admin" else token
        return requests.post(self.url + "/platform/api/rdesk/config", timeout=20, verify=self.verify,
                             headers={"Authorization": f"Bearer {token}"} if token else {})

    def upgrade_status(self, session_id: str, token: str | None = "admin") -> tuple[int, dict]:
        """The status and JSON body of a WebSocket upgrade that the daemon refuses."""
        token = self.token if token == "admin" else token
        headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "binary"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        answer = self.get(f"/platform/api/rdesk/{session_id}", headers=headers, timeout=10)
        return answer.status_code, answer.json()

    def websocket(self, session_id: str, how: str = "header") -> simple_websocket.Client:
        url = f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}/platform/api/rdesk/{session_id}"
        context = ssl.create_default_context(cafile=self.verify) if self.tls else None
        if how == "query":
            return simple_websocket.Client.connect(f"{url}?token={self.token}", subprotocols=["binary"],
                                                   ssl_context=context)
        return simple_websocket.Client.connect(url, subprotocols=["binary"], ssl_context=context,
                                               headers={"Authorization": f"Bearer {self.token}"})

    def children(self, name: str) -> list[psutil.Process]:
        try:
            found = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        return [child for child in found if _name(child) == name]

    def wait_no_children(self, name: str, within: float = 8.0) -> None:
        deadline = time.monotonic() + within
        while self.children(name):
            assert time.monotonic() < deadline, f"{name} still runs"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.NoSuchProcess:
        return ""


@contextlib.contextmanager
def daemons(folder: Path):
    """``start(config, sim, tls)`` starts a daemon in ``folder``; at the end every daemon is stopped
    and whatever x11vnc or Xvfb they left is killed, also when a test failed."""
    started: list[Daemon] = []
    left: list[psutil.Process] = []

    def start(config: str = "", sim: bool = False, tls: bool = False) -> Daemon:
        daemon = Daemon(folder, config, sim, tls)
        started.append(daemon)
        return daemon

    try:
        yield start
    finally:
        for daemon in started:
            left += daemon.children("x11vnc") + daemon.children("Xvfb")
            daemon.stop()
        for process in left:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass


@pytest.fixture
def start_daemon(tmp_path):
    with daemons(tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def shared_daemon(tmp_path_factory):
    """One daemon (the Linux driver on its own Xvfb, send timeout 2 s) for the tests that leave no
    session behind: starting and stopping a daemon costs seconds."""
    with running_xvfb() as display, daemons(tmp_path_factory.mktemp("shared")) as start:
        yield start(linux_config(display, send_timeout_seconds=2), sim=True)


def linux_config(display: str, **rdesk) -> str:
    """The Linux board's driver on ``display``. Most tests run it in a ``--sim`` daemon (``[drivers]``
    picks it there), which probes none of this machine's other hardware."""
    table = "".join(f"{key} = {value}\n" for key, value in rdesk.items())
    return (f'[drivers]\nrdesk = ["linux.rdesk"]\n[plugins.rdesk]\n{table}'
            f'[plugins.linux.rdesk]\ndisplay = "{display}"\n')


# -- a VNC client over the WebSocket ----------------------------------------------------------------

class Rfb:
    def __init__(self, ws: simple_websocket.Client):
        self.ws, self.pending = ws, b""

    def read(self, size: int, within: float = 10.0) -> bytes:
        deadline = time.monotonic() + within
        while len(self.pending) < size:
            left = deadline - time.monotonic()
            assert left > 0, f"waited for {size} bytes, got {len(self.pending)}"
            message = self.ws.receive(timeout=left)
            if message is None:
                continue
            assert isinstance(message, bytes), "the relay sent a text frame"
            self.pending += message
        data, self.pending = self.pending[:size], self.pending[size:]
        return data

    def u8(self):
        return self.read(1)[0]

    def u16(self):
        return struct.unpack(">H", self.read(2))[0]

    def u32(self):
        return struct.unpack(">I", self.read(4))[0]


def _close(ws) -> None:
    """Close from the client's side, whether or not the daemon closed first (then simple-websocket
    raises ConnectionClosed, or a reset if its reader has not seen the daemon's close frame yet)."""
    try:
        ws.close()
    except (simple_websocket.ConnectionClosed, OSError):
        pass


def vnc_response(password: str, challenge: bytes) -> bytes:
    """RFB's VNC authentication: DES (ECB) of the 16-byte challenge, keyed with the password's first
    8 bytes (zero-padded), each key byte's bits reversed. TripleDES with the key three times is DES."""
    key = bytes(int(f"{byte:08b}"[::-1], 2) for byte in password.encode()[:8].ljust(8, b"\0"))
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(challenge) + encryptor.finalize()


def handshake(ws, password: str) -> tuple[Rfb, int]:
    """Version and VNC authentication; the SecurityResult (0: OK)."""
    rfb = Rfb(ws)
    assert rfb.read(12) == b"RFB 003.008\n"
    ws.send(b"RFB 003.008\n")
    types = rfb.read(rfb.u8())
    assert 2 in types, f"no VNC authentication offered: {list(types)}"
    ws.send(bytes([2]))
    ws.send(vnc_response(password, rfb.read(16)))
    return rfb, rfb.u32()


def desktop(ws, password: str) -> tuple[int, int]:
    """A whole RFB session start: authenticate, ClientInit (shared), ServerInit, then a full
    (non-incremental) FramebufferUpdateRequest whose rectangles must cover the screen; the size."""
    rfb, result = handshake(ws, password)
    assert result == 0, "VNC authentication failed"
    ws.send(b"\x01")  # ClientInit: shared
    width, height = rfb.u16(), rfb.u16()
    pixel_format = rfb.read(16)
    bits_per_pixel = pixel_format[0]
    rfb.read(rfb.u32())  # desktop name
    ws.send(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
    covered = 0
    while covered < width * height:
        kind = rfb.u8()
        if kind != 0:  # a colour map or bell or cut text might come first: not with x11vnc defaults
            pytest.fail(f"unexpected server message {kind}")
        rfb.read(1)
        for _ in range(rfb.u16()):
            x, y, w, h, encoding = struct.unpack(">HHHHi", rfb.read(12))
            assert encoding == 0 and x + w <= width and y + h <= height  # Raw: no SetEncodings sent
            rfb.read(w * h * bits_per_pixel // 8, within=20)
            covered += w * h
    return width, height


def test_vnc_response_uses_8_characters_and_the_whole_challenge():
    challenge = bytes(range(16))
    assert vnc_response("password", challenge) == vnc_response("password123", challenge)
    assert vnc_response("password", challenge) != vnc_response("passwore", challenge)
    assert vnc_response("password", challenge)[8:] != vnc_response("password", challenge[:8] + bytes(8))[8:]


def test_password_is_8_chars_of_letters_and_digits():
    words = {new_password() for _ in range(200)}
    assert len(words) == 200 and all(len(word) == 8 and word.isalnum() and word.isascii() for word in words)


def test_x11vnc_failure_reason_is_the_display_line():
    lines = ["02/12/2026 x11vnc version 0.9.16", "XOpenDisplay(\":58\") failed.", "*** x11vnc was unable"]
    assert _reason(lines) == 'XOpenDisplay(":58") failed.'
    assert _reason(["", "**** banner", "listen failed"]) == "listen failed"


def test_a_port_taken_before_x11vnc_binds_it_is_not_used(xvfb, monkeypatch):
    """x11vnc says PORT=<n> even when another process listens on 127.0.0.1:<n>: the driver must see
    that and take another port, or the relay would talk to that process."""
    from portald import x11vnc

    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    ports = iter([taken])
    monkeypatch.setattr(x11vnc, "_free_port", lambda: next(ports, None) or _free_port())
    server = x11vnc.X11Vnc(xvfb)
    try:
        port = server.start("abcdefgh")
        assert port != taken and x11vnc._listens(server._proc.pid, port)
        assert not x11vnc._listens(server._proc.pid, taken)
        assert server.running()
    finally:
        server.stop()
        squatter.close()
    assert not server.running()


# -- the API on the Linux board ---------------------------------------------------------------------

def test_session_end_to_end_on_xvfb(xvfb, start_daemon):
    daemon = start_daemon(linux_config(xvfb))  # a Linux-board daemon, as on a device
    answer = daemon.config()
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"id", "os", "password"} and body["os"] == "linux"
    assert len(body["password"]) == 8 and body["password"].isalnum()
    [x11vnc] = daemon.children("x11vnc")
    argv = x11vnc.cmdline()
    assert body["password"] not in " ".join(argv)
    assert "-localhost" in argv and argv[argv.index("-display") + 1] == xvfb
    secret = argv[argv.index("-passwdfile") + 1]
    assert secret.startswith(f"rm:{daemon.tmp}/portald-rdesk-")
    assert not os.path.exists(secret[3:])  # x11vnc read and removed it
    assert not list(daemon.tmp.glob("portald-rdesk-*"))  # and its private folder is gone too
    listening = {c.laddr.ip for c in x11vnc.net_connections("inet") if c.status == psutil.CONN_LISTEN}
    assert listening and listening <= {"127.0.0.1", "::1"}

    ws = daemon.websocket(body["id"])
    try:
        assert ws.subprotocol == "binary"
        assert desktop(ws, body["password"]) == (WIDTH, HEIGHT)
    finally:
        _close(ws)
    daemon.wait_no_children("x11vnc")  # its only session ended
    assert daemon.upgrade_status(body["id"])[0] == 404  # an id is good for one WebSocket


def test_two_sessions_share_the_server_until_the_last_ends(shared_daemon):
    daemon = shared_daemon
    first, second = daemon.config().json(), daemon.config().json()
    assert first["id"] != second["id"] and first["password"] == second["password"]
    assert len(daemon.children("x11vnc")) == 1
    one, two = daemon.websocket(first["id"]), daemon.websocket(second["id"], how="query")
    try:
        assert desktop(one, first["password"]) == (WIDTH, HEIGHT)
        _close(one)
        time.sleep(0.5)
        assert len(daemon.children("x11vnc")) == 1  # the second session still uses it
        assert desktop(two, second["password"]) == (WIDTH, HEIGHT)
    finally:
        _close(two)
    daemon.wait_no_children("x11vnc")
    third = daemon.config().json()  # a new server, a new password
    assert third["password"] != first["password"]
    _close(daemon.websocket(third["id"]))
    daemon.wait_no_children("x11vnc")


def test_wrong_password_fails_vnc_authentication(shared_daemon):
    daemon = shared_daemon
    body = daemon.config().json()
    wrong = ("x" if body["password"][0] != "x" else "y") + body["password"][1:]
    ws = daemon.websocket(body["id"])
    try:
        assert handshake(ws, wrong)[1] == 1
    finally:
        _close(ws)
    daemon.wait_no_children("x11vnc")  # x11vnc dropped the client, which was the last session


def test_unknown_expired_and_capped_sessions(xvfb, start_daemon):
    daemon = start_daemon(linux_config(xvfb, session_seconds=1.5, max_sessions=2), sim=True)
    status, body = daemon.upgrade_status("5b306b78-d720-4dac-984e-a1f1ca9cd963")
    assert status == 404 and "message" in body
    first = daemon.config()
    assert first.status_code == 200 and daemon.config().status_code == 200
    capped = daemon.config()
    assert capped.status_code == 422 and "at most 2" in capped.json()["message"]
    without = daemon.get(f"/platform/api/rdesk/{first.json()['id']}", timeout=10,
                         headers={"Authorization": f"Bearer {daemon.token}"})
    assert without.status_code == 400  # not an upgrade, and the id is not used up by it
    time.sleep(1.7)
    assert daemon.upgrade_status(first.json()["id"])[0] == 404  # expired unused
    daemon.wait_no_children("x11vnc")  # no session left: the server stopped
    assert daemon.config().status_code == 200  # the expired ones no longer count


def test_no_display_is_422(start_daemon, tmp_path):
    daemon = start_daemon(linux_config(":987"), sim=True)
    answer = daemon.config()
    assert answer.status_code == 422, answer.text
    assert ":987" in answer.json()["message"]
    assert daemon.children("x11vnc") == []
    assert not list(daemon.tmp.glob("portald-rdesk-*"))  # the password file went with the failed start


def test_no_x11vnc_is_422(xvfb, start_daemon):
    daemon = start_daemon(linux_config(xvfb) + 'x11vnc = "/nonexistent/x11vnc"\n'
                          '[plugins.sim.rdesk]\nx11vnc = "/nonexistent/x11vnc"\n', sim=True)
    answer = daemon.config()
    assert answer.status_code == 422 and "x11vnc" in answer.json()["message"]
    plugins = daemon.get("/platform/api/plugins", timeout=10,
                         headers={"Authorization": f"Bearer {daemon.token}"}).text
    assert "x11vnc" in plugins


def test_401_without_token_and_403_for_an_os_user(start_daemon, os_user_factory):
    # on the sim board: in a Linux-board daemon an OS login (PAM) hangs on this machine (see the report)
    daemon = start_daemon(SIM_SMALL, sim=True)
    assert daemon.config(token=None).status_code == 401
    assert daemon.config(token=None).json()["Code"] == 401
    body = daemon.config().json()
    assert daemon.upgrade_status(body["id"], token=None)[0] == 401
    user = os_user_factory()
    token = daemon.login(user.name, user.password, 0)
    assert daemon.config(token=token).status_code == 403
    assert daemon.upgrade_status(body["id"], token=token)[0] == 403
    other_admin = os_user_factory(groups=["sudo"])  # the sudo group makes an administrator
    token = daemon.login(other_admin.name, other_admin.password, 0)
    assert daemon.upgrade_status(body["id"], token=token)[0] == 404  # an id is its asker's only
    ws = daemon.websocket(body["id"])  # the refusals did not use the id up
    _close(ws)


class RawWs:
    """A WebSocket client on a plain socket (wsproto frames it) whose reading the test controls:
    simple-websocket's client reads in a thread of its own, so it can never stop reading."""

    def __init__(self, daemon: Daemon, session_id: str):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.sock.connect(("127.0.0.1", daemon.port))
        self.sock.settimeout(10)
        self.conn = WSConnection(ConnectionType.CLIENT)
        self.sock.sendall(self.conn.send(Request(
            host="127.0.0.1", target=f"/platform/api/rdesk/{session_id}", subprotocols=["binary"],
            extra_headers=[(b"authorization", f"Bearer {daemon.token}".encode())])))
        self.pending = b""
        while not any(isinstance(event, AcceptConnection) for event in self._events()):
            pass

    def _events(self) -> list:
        self.conn.receive_data(self.sock.recv(65536) or None)
        events = list(self.conn.events())
        self.pending += b"".join(bytes(e.data) for e in events if isinstance(e, BytesMessage))
        return events

    def receive(self, timeout=None) -> bytes:
        while not self.pending:
            self._events()
        data, self.pending = self.pending, b""
        return data

    def send(self, data: bytes) -> None:
        self.sock.sendall(self.conn.send(BytesMessage(data=data)))


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_client_that_stops_reading_costs_no_memory_and_is_dropped(shared_daemon):
    daemon = shared_daemon  # send_timeout_seconds = 2
    body = daemon.config().json()
    client = RawWs(daemon, body["id"])
    try:
        rfb, result = handshake(client, body["password"])
        assert result == 0
        client.send(b"\x01")
        width, height = rfb.u16(), rfb.u16()
        rfb.read(16)
        rfb.read(rfb.u32())
        before = _rss_kib(daemon.proc.pid)
        # full-screen updates asked for again and again and never read: x11vnc may merge requests
        # that are pending at once into one update, so they keep coming until the buffers on the way
        # are full and the daemon's send times out (2 s): the session closes, the server stops
        request = struct.pack(">BBHHHH", 3, 0, 0, 0, width, height)
        deadline = time.monotonic() + 15
        while daemon.children("x11vnc"):
            assert time.monotonic() < deadline, "x11vnc still runs: the session was not dropped"
            try:
                client.send(request * 10)
            except OSError:  # the daemon closed the connection
                pass
            assert _rss_kib(daemon.proc.pid) - before < 16 * 1024
            time.sleep(0.1)
        assert _rss_kib(daemon.proc.pid) - before < 16 * 1024
    finally:
        client.sock.close()


def test_a_vnc_server_that_stops_reading_ends_the_session(shared_daemon):
    daemon = shared_daemon  # send_timeout_seconds = 2
    body = daemon.config().json()
    ws = daemon.websocket(body["id"])
    try:
        handshake(ws, body["password"])
        [x11vnc] = daemon.children("x11vnc")
        x11vnc.suspend()  # SIGSTOP: it reads nothing more
        pointer_events = struct.pack(">BBHH", 5, 0, 10, 10) * 16384
        with pytest.raises(simple_websocket.ConnectionClosed):
            for _ in range(64):  # 8 MiB: more than the sockets on the way hold
                ws.send(pointer_events)
                time.sleep(0.05)
            ws.receive(timeout=10)
        daemon.wait_no_children("x11vnc", within=10)  # SIGTERM stays pending on a stopped process: killed
    finally:
        _close(ws)


def test_daemon_shutdown_stops_the_server(xvfb, start_daemon):
    daemon = start_daemon(linux_config(xvfb), sim=True)
    body = daemon.config().json()
    ws = daemon.websocket(body["id"])
    try:
        handshake(ws, body["password"])
        [x11vnc] = daemon.children("x11vnc")
        daemon.stop()
        assert daemon.proc.returncode == 0
        x11vnc.wait(timeout=5)
        with pytest.raises(simple_websocket.ConnectionClosed):
            ws.receive(timeout=5)  # the daemon closed it (1001, going away)
        assert ws.close_reason == 1001
    finally:
        _close(ws)


# -- the sim board ----------------------------------------------------------------------------------

def test_sim_board_runs_its_own_xvfb_over_tls(start_daemon):
    daemon = start_daemon(SIM_SMALL, sim=True, tls=True)  # wss://, as a browser connects
    assert daemon.children("Xvfb") == []  # nothing runs before a session is asked for
    body = daemon.config().json()
    assert body["os"] == "linux" and len(daemon.children("Xvfb")) == 1
    ws = daemon.websocket(body["id"])
    try:
        assert desktop(ws, body["password"]) == (320, 200)
    finally:
        _close(ws)
    daemon.wait_no_children("x11vnc")
    daemon.wait_no_children("Xvfb")
