"""The web terminal end to end: the real daemon (``portald run --sim --http`` as root, in a subprocess),
a real WebSocket client, real OS accounts (useradd) logging in through PAM, a real PTY and login shell.
Plus the GoTTY framing as pure functions."""
from __future__ import annotations

import base64
import json
import os
import pwd
import re
import secrets
import socket
import struct
import subprocess
import time

import pytest
import requests
from simple_websocket import ConnectionClosed

from test_server import Daemon
from test_websocket import WsClient, credentials

from portald_plugins.term import gotty

PATH = "/platform/api/term/ws"


# -- fixtures ----------------------------------------------------------------------------------------
class Account:
    def __init__(self, name: str, password: str):
        self.name, self.password = name, password
        self.uid = pwd.getpwnam(name).pw_uid


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid and os.path.exists(f"/proc/{entry.name}/exe") and \
                        open(f"/proc/{entry.name}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(entry.name))
            except (OSError, IndexError):
                pass
    return found


@pytest.fixture(scope="module")
def accounts():
    """Two real OS accounts with bash as their login shell (and no home directory: cwd is /)."""
    if os.geteuid() != 0:
        pytest.fail("terminal tests need root (useradd, shells as other users); run them as root, as CI does")
    made = []
    try:
        for _ in range(2):
            name, password = "pdt" + secrets.token_hex(4), "pw-" + secrets.token_hex(8)
            subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/bash", name], check=True)
            made.append(name)
            subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
            made[-1] = Account(name, password)
        yield made
    finally:
        for account in made:
            name = account if isinstance(account, str) else account.name
            for pid in _processes_of(pwd.getpwnam(name).pw_uid):  # whatever a failed test left behind
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            subprocess.run(["userdel", name], check=False, stderr=subprocess.DEVNULL)


def _start(tmp_path, settings: dict) -> Daemon:
    keys = {f"PORTALD_PLUGINS__TERM__{key.upper()}": str(value) for key, value in settings.items()}
    # HTTP connections idle for 1 s are dropped (a quick stop); terminals must not be
    keys["PORTALD_SERVER__IDLE_TIMEOUT_SECONDS"] = "1"
    os.environ.update(keys)
    try:
        started = Daemon(tmp_path, http=True)
    finally:
        for key in keys:
            del os.environ[key]
    try:
        started.admin = started.admin_token()  # (once: it changes the factory password)
    except BaseException:
        started.stop()
        raise
    return started


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, accounts):
    started = _start(tmp_path_factory.mktemp("term"), {})
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def tight(tmp_path_factory, accounts):
    """Caps of 1 per user and 2 in all, a 2 s idle timeout, 1 s for a send, the admin account's shell user
    set."""
    started = _start(tmp_path_factory.mktemp("term-tight"), {
        "max_terminals_per_user": 1, "max_terminals": 2, "idle_timeout_seconds": 2, "send_timeout_seconds": 1,
        "admin_shell_user": f'"{accounts[0].name}"'})
    try:
        yield started
    finally:
        started.stop()


def _token(daemon, account) -> str:
    answer = requests.post(f"{daemon.url}/auth/login?m=0",
                           json={"username": account.name, "password": account.password}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


# -- a GoTTY client --------------------------------------------------------------------------------
class Term:
    def __init__(self, daemon, token: str, way: str = "header"):
        headers, query = credentials(token, way)
        self.ws = WsClient.connect(f"ws://127.0.0.1:{daemon.port}{PATH}{query}", subprotocols=["webtty"],
                                 headers=headers)
        self.output = b""

    def frame(self, timeout: float = 10) -> str:
        frame = self.ws.receive(timeout=timeout)
        assert frame is not None, "no frame in time"
        return frame

    def greeting(self) -> list[str]:
        return [self.frame() for _ in range(3)]

    def type(self, text: str) -> None:
        self.ws.send(gotty.INPUT + base64.b64encode(text.encode()).decode())

    def expect(self, pattern: str, timeout: float = 10) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern.encode(), self.output)
            if found:
                self.output = self.output[found.end():]
                return found
            frame = self.ws.receive(timeout=max(0.01, deadline - time.monotonic()))
            if frame is None:
                raise AssertionError(f"{pattern!r} not in the output: {self.output[-500:]!r}")
            if frame.startswith(gotty.OUTPUT):
                self.output += base64.b64decode(frame[1:])

    def run(self, command: str, marker: str) -> str:
        """Type ``command`` and the answer between two markers (the echo of the typed line never matches:
        the marker is computed by the shell)."""
        self.type(f"echo {marker}$((1+1)); {command}; echo {marker}$((2+1))\r")
        self.expect(f"{marker}2\r\n")
        return self.expect(f"(?s)(.*?){marker}3").group(1).decode()

    def closed(self, timeout: float = 10) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        with pytest.raises(ConnectionClosed):
            while time.monotonic() < deadline:
                frame = self.ws.receive(timeout=0.5)
                if frame and frame.startswith(gotty.OUTPUT):
                    self.output += base64.b64decode(frame[1:])
        return self.ws.close_reason, self.ws.close_message

    def close(self) -> None:
        try:
            self.ws.close()
        except ConnectionClosed:
            pass


def _gone(uid: int, within: float = 5) -> bool:
    deadline = time.monotonic() + within
    while _processes_of(uid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _processes_of(uid)


# -- the API -------------------------------------------------------------------------------------
def test_plain_get_answers_the_os_and_needs_a_token(daemon, accounts):
    token = _token(daemon, accounts[0])
    answer = requests.get(daemon.url + PATH, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert answer.status_code == 200 and answer.json() == {"os": "linux"}
    refused = requests.get(daemon.url + PATH, timeout=5)
    assert refused.status_code == 401 and refused.json()["Code"] == 401


def test_an_upgrade_without_a_token_is_a_401(daemon):
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(), "Sec-WebSocket-Protocol": "webtty"}
    answer = requests.get(daemon.url + PATH, headers=headers, timeout=5)
    assert answer.status_code == 401 and answer.json()["Code"] == 401


@pytest.mark.parametrize("way", ["header", "query"])
def test_a_shell_of_the_logged_in_account(daemon, accounts, way):
    account = accounts[0]
    term = Term(daemon, _token(daemon, account), way)
    try:
        assert term.ws.subprotocol == "webtty"
        title, size, prefs = term.greeting()
        assert title == f"3{account.name}@{socket.gethostname()}"
        assert size == "61024" and prefs[0] == "4" and isinstance(json.loads(prefs[1:]), dict)
        term.type("echo $((6*7))\r")
        term.expect(r"[\r\n]42\r\n")
        assert term.run("id -un", "M").strip() == account.name
        assert term.run("echo $HOME $USER $TERM $0; pwd", "N").split() == \
            [f"/home/{account.name}", account.name, "xterm-256color", "-bash", "/"]
        term.ws.send(gotty.RESIZE_TERMINAL + json.dumps({"columns": 123.0, "rows": 45}))
        assert term.run("stty size", "S").strip() == "45 123"
        term.ws.send(gotty.PING)
        while (frame := term.frame()) != gotty.PONG:
            assert frame.startswith(gotty.OUTPUT)
        term.type("sleep 300 & sleep 301\r")
        time.sleep(0.3)
        assert len(_processes_of(account.uid)) >= 3  # bash and two sleeps
    finally:
        term.close()
    assert _gone(account.uid), _processes_of(account.uid)  # the session is hung up and killed whole


def test_gotty_clients_first_messages_and_the_null_encoding(daemon, accounts):
    term = Term(daemon, _token(daemon, accounts[1]))
    try:
        term.greeting()
        term.ws.send(json.dumps({"Arguments": "", "AuthToken": ""}))
        term.ws.send(gotty.SET_ENCODING + "base64")
        term.type("echo $((7*6))x\r")
        term.expect("42x")
        term.ws.send(gotty.SET_ENCODING + "null")
        term.ws.send(gotty.INPUT + "echo $((7*7))y\r")
        term.expect("49y")
        term.ws.send("9garbage")
        assert term.closed() == (1008, "unknown message type")
    finally:
        term.close()
    assert _gone(accounts[1].uid)


def test_exit_ends_the_terminal(daemon, accounts):
    term = Term(daemon, _token(daemon, accounts[1]))
    term.greeting()
    term.type("exit\r")
    assert term.closed() == (1000, "the shell has ended")
    assert _gone(accounts[1].uid)


def test_an_account_whose_shell_is_nologin_gets_what_nologin_says(daemon, os_user_factory):
    user = os_user_factory()  # useradd --shell /usr/sbin/nologin
    term = Term(daemon, _token(daemon, user))
    term.greeting()
    assert term.closed() == (1000, "the shell has ended")
    assert b"not available" in term.output
    assert _gone(pwd.getpwnam(user.name).pw_uid)


def test_the_admin_account_without_a_shell_user_is_refused(daemon):
    term = Term(daemon, daemon.admin)
    code, reason = term.closed()
    assert code == 1008 and "admin_shell_user" in reason
    assert b"admin_shell_user" in term.output  # shown in the terminal too


def test_the_admin_account_gets_the_configured_shell_user(tight, accounts):
    term = Term(tight, tight.admin)
    try:
        term.greeting()
        assert term.run("id -un", "A").strip() == accounts[0].name
    finally:
        term.close()
    assert _gone(accounts[0].uid)


def test_caps_per_user_and_in_all(tight, accounts):
    first = Term(tight, _token(tight, accounts[0]))
    terms = [first]
    try:
        first.greeting()
        again = Term(tight, _token(tight, accounts[0]))
        code, reason = again.closed()
        assert code == 1013 and "1 terminals open already" in reason
        second = Term(tight, _token(tight, accounts[1]))
        terms.append(second)
        second.greeting()
        third = Term(tight, tight.admin)
        code, reason = third.closed()
        assert code == 1013 and "all 2 terminals are in use" in reason
    finally:
        for term in terms:
            term.close()
    for account in accounts:
        assert _gone(account.uid)
    again = Term(tight, _token(tight, accounts[0]))  # a slot is free again once closed
    try:
        assert again.greeting()[0].startswith(gotty.SET_WINDOW_TITLE)
    finally:
        again.close()


def test_idle_timeout(tight, accounts):
    term = Term(tight, _token(tight, accounts[1]))
    term.greeting()
    start = time.monotonic()
    term.ws.send(gotty.PING)  # heartbeats are no activity
    assert term.closed() == (1000, "idle timeout")
    assert 1.5 < time.monotonic() - start < 5
    assert _gone(accounts[1].uid)


def test_daemon_stop_closes_terminals_and_their_sessions(tmp_path, accounts):
    own = _start(tmp_path, {})
    try:
        term = Term(own, _token(own, accounts[1]))
        term.greeting()
        term.type("sleep 300\r")
        time.sleep(0.3)
        assert own.stop() < 5 and own.proc.returncode == 0
        assert term.closed() == (1001, "server shutting down")
    finally:
        own.stop()
    assert _gone(accounts[1].uid)


# -- a client that does not read -----------------------------------------------------------------
def _masked_text(payload: bytes) -> bytes:
    mask = os.urandom(4)
    head = bytes([0x81]) + (bytes([0x80 | len(payload)]) if len(payload) < 126 else
                            bytes([0x80 | 126]) + struct.pack("!H", len(payload)))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _raw_terminal(daemon, token: str) -> socket.socket:
    """A terminal opened by hand on a socket with a small receive buffer, which the test never reads."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    raw.connect(("127.0.0.1", daemon.port))
    key = base64.b64encode(os.urandom(16)).decode()
    raw.sendall((f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                 f"Authorization: Bearer {token}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += raw.recv(1)
    assert head.startswith(b"HTTP/1.1 101")
    return raw


def _run_yes(raw: socket.socket) -> None:
    raw.sendall(_masked_text(("1" + base64.b64encode(b"yes\r").decode()).encode()))


def test_a_client_that_does_not_read_throttles_the_shell_and_memory_stays_bounded(daemon, accounts):
    account = accounts[0]
    raw = _raw_terminal(daemon, _token(daemon, account))
    try:
        before = _rss_kib(daemon.proc.pid)
        _run_yes(raw)
        peak = before
        for _ in range(8):  # 4 s of `yes` into a client that reads nothing
            time.sleep(0.5)
            peak = max(peak, _rss_kib(daemon.proc.pid))
        assert peak - before < 10 * 1024, (before, peak)
        yes = [pid for pid in _processes_of(account.uid) if open(f"/proc/{pid}/comm").read().strip() == "yes"]
        assert yes, "yes is not running"
        # throttled: blocked writing to the full terminal, not spinning
        assert open(f"/proc/{yes[0]}/stat").read().rsplit(")", 1)[1].split()[0] == "S"
    finally:
        raw.close()
    assert _gone(account.uid)


def test_a_client_that_does_not_read_past_the_send_timeout_is_dropped(tight, accounts):
    raw = _raw_terminal(tight, _token(tight, accounts[1]))
    try:
        _run_yes(raw)
        time.sleep(0.5)
        assert _processes_of(accounts[1].uid), "the shell is not running"
        deadline = time.monotonic() + 8
        while _processes_of(accounts[1].uid) and time.monotonic() < deadline:
            try:  # resizes keep the terminal from the idle timeout: only the send timeout can end it
                raw.sendall(_masked_text(b'3{"columns":80,"rows":24}'))
            except OSError:
                pass
            time.sleep(0.3)
        assert not _processes_of(accounts[1].uid)  # 1 s send timeout, then the hang-up
    finally:
        raw.close()


# -- the framing ---------------------------------------------------------------------------------
def test_outbound_framing():
    assert gotty.output(b"\x00hi\xff") == "1" + base64.b64encode(b"\x00hi\xff").decode()
    assert gotty.pong() == "2"
    assert gotty.greeting("t", 1024, {"font-size": 12}) == ["3t", "61024", '4{"font-size":12}']
    assert gotty.reconnect(False) == "5false" and gotty.reconnect(10) == "510"


@pytest.mark.parametrize("frame,encoding,message", [
    ("1" + base64.b64encode(b"ls\r").decode(), "base64", gotty.Input(b"ls\r")),
    ("1ls\r", "null", gotty.Input(b"ls\r")),
    (b"2", "base64", gotty.Ping()),
    ('3{"columns":128,"rows":21}', "base64", gotty.Resize(128, 21)),
    ('3{"columns":80.7,"rows":24.0}', "base64", gotty.Resize(80, 24)),
    ("4base64", "base64", gotty.SetEncoding("base64")),
    ('{"Arguments":"?a=1","AuthToken":""}', "base64", gotty.Hello("?a=1")),
])
def test_inbound_framing(frame, encoding, message):
    assert gotty.decode(frame, encoding) == message


@pytest.mark.parametrize("frame", ["", "1***", "9x", '3{"columns":0,"rows":5}', '3{"columns":"80","rows":5}',
                                   '3{"columns":true,"rows":5}', '3{"columns":Infinity,"rows":5}', "3[80,24]",
                                   "3{", "4utf-16", "{not json", "[1]", b"\xff\xfe"])
def test_inbound_framing_refuses(frame):
    with pytest.raises(gotty.ProtocolError):
        gotty.decode(frame)
