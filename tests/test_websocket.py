"""``portald.websocket`` on the real daemon (``portald run --sim --http`` in a subprocess) with a real
WebSocket client (simple-websocket's): a drop-in plugin serves an echo route through the helper.
Upgrade with each of the three token ways, 401 before any upgrade without one, subprotocol echo, text
and binary frames, the message cap, a WebSocket outliving the server's idle timeout, a clean close
(1001) when the daemon stops."""
from __future__ import annotations

import base64
import os
import socket
import ssl
import threading
import time

import pytest
import requests
from simple_websocket import Client, ConnectionClosed
from simple_websocket import ConnectionError as HandshakeRefused
from simple_websocket.ws import Base

from test_server import Daemon

ECHO_PLUGIN = '''
"""Test drop-in: an echo WebSocket served by portald.websocket."""
import gevent
from flask import Blueprint, g

from portald import websocket
from portald.auth.privileges import streaming
from portald.hookspecs import hookimpl


def _echo(ws):
    while True:
        message = ws.receive(timeout=30)
        if message == "close":
            ws.close(4000, "bye")
            return
        if message == "stall":  # a handler that takes nothing for a while
            gevent.sleep(4)
            return
        if message == "who":
            message = g.identity.user
        ws.send(message)


@hookimpl
def portald_blueprints(ctx):
    bp = Blueprint("wsecho", __name__)

    @websocket.route(bp, "/test/ws/echo")
    @streaming
    def echo():
        if not websocket.is_upgrade():
            return {"plain": True}
        return websocket.serve(_echo, subprotocols=["webtty", "binary"], max_message=1024)

    return [bp]
'''


class WsClient(Client):
    """simple-websocket's client, except that frames that came in the same read as the 101 answer are
    handled: its handshake takes the first event only and leaves the rest buffered until more data
    comes, so a server that writes at once after the upgrade and then waits (a refusal: a message and a
    close frame) looked like a connection dropped without a close (1005)."""

    def _thread(self):
        self.connected = self._handle_events()  # what came with the 101 (a closed socket ends the loop)
        super()._thread()

    def close(self, reason=None, message=None):
        """The close frame, then wait for the server's and for the reader thread to close the socket.
        (simple-websocket's client closes the descriptor at once while its reader thread still waits
        in an SSL read on it: the next connection the process opens gets the number, and that stale
        read steals its TLS handshake.)"""
        Base.close(self, reason, message)
        self.thread.join(5)
        self.sock.close()


def _start(tmp_path, http: bool = True) -> Daemon:
    (tmp_path / "plugins.d").mkdir()
    (tmp_path / "plugins.d" / "wsecho.py").write_text(ECHO_PLUGIN)
    os.environ["PORTALD_SERVER__IDLE_TIMEOUT_SECONDS"] = "1"
    try:
        started = Daemon(tmp_path, http=http)
    finally:
        del os.environ["PORTALD_SERVER__IDLE_TIMEOUT_SECONDS"]
    try:
        started.token = started.admin_token()
    except BaseException:
        started.stop()
        raise
    return started


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    started = _start(tmp_path_factory.mktemp("websocket"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def own_daemon(tmp_path):
    started = _start(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def _url(daemon, query="") -> str:
    return f"ws://127.0.0.1:{daemon.port}/test/ws/echo{query}"


def _connect(daemon, **options) -> WsClient:
    return WsClient.connect(_url(daemon), headers={"Authorization": f"Bearer {daemon.token}"}, **options)


def _echoes(ws, message) -> bool:
    ws.send(message)
    return ws.receive(timeout=5) == message


def _upgrade_headers() -> dict:
    return {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}


def credentials(token: str, way: str) -> tuple[dict, str]:
    """The headers and the query string that carry ``token`` the ``way`` asked: in the Authorization
    ``header``, the jwt ``cookie`` or the ``query``."""
    if way == "header":
        return {"Authorization": f"Bearer {token}"}, ""
    if way == "cookie":
        return {"Cookie": f"jwt={token}"}, ""
    return {}, f"?token={token}"


@pytest.mark.parametrize("way", ["header", "cookie", "query"])
def test_upgrade_with_each_token_way_and_echo(daemon, way):
    headers, query = credentials(daemon.token, way)
    ws = WsClient.connect(_url(daemon, query), headers=headers)
    try:
        ws.send("hello")
        assert ws.receive(timeout=5) == "hello"
        ws.send(b"\x00\x01\xff")
        assert ws.receive(timeout=5) == b"\x00\x01\xff"  # binary stays binary
        ws.send("who")
        assert ws.receive(timeout=5) == "admin"  # the guard's identity is there for the handler
    finally:
        ws.close()


def test_plain_get_is_json_and_query_token_is_only_for_upgrades(daemon):
    answer = requests.get(daemon.url + "/test/ws/echo", headers={"Authorization": f"Bearer {daemon.token}"}, timeout=5)
    assert answer.status_code == 200 and answer.json() == {"plain": True}
    # a plain GET may not carry the token in the URL
    assert requests.get(f"{daemon.url}/test/ws/echo?token={daemon.token}", timeout=5).status_code == 401


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_no_or_bad_token_is_a_401_before_any_upgrade(daemon, token):
    query = f"?token={token}" if token else ""
    answer = requests.get(f"{daemon.url}/test/ws/echo{query}", headers=_upgrade_headers(), timeout=5)
    assert answer.status_code == 401
    assert answer.json()["Code"] == 401 and "Sec-WebSocket-Accept" not in answer.headers
    with pytest.raises(HandshakeRefused) as refused:
        WsClient.connect(_url(daemon, query))
    assert refused.value.status_code == 401


@pytest.mark.parametrize("headers,status", [
    ({"Sec-WebSocket-Version": None}, 426), ({"Sec-WebSocket-Version": "8"}, 426),
    ({"Sec-WebSocket-Key": None}, 400), ({"Sec-WebSocket-Key": "abc"}, 400),
    ({"Sec-WebSocket-Key": base64.b64encode(b"x" * 15).decode()}, 400),
])
def test_a_malformed_upgrade_is_a_4xx_never_a_500(daemon, headers, status):
    sent = {**_upgrade_headers(), "Authorization": f"Bearer {daemon.token}", **headers}
    answer = requests.get(f"{daemon.url}/test/ws/echo", headers={k: v for k, v in sent.items() if v is not None},
                          timeout=5)
    assert answer.status_code == status and "message" in answer.json()
    if status == 426:
        assert answer.headers["Sec-WebSocket-Version"] == "13"
    ws = _connect(daemon)  # and the daemon goes on serving WebSockets
    try:
        assert _echoes(ws, "x")
    finally:
        ws.close()


@pytest.mark.parametrize("offered,chosen", [(["binary"], "binary"), (["chat", "webtty"], "webtty"),
                                            (["chat"], None), ([], None)])
def test_subprotocol_echo(daemon, offered, chosen):
    ws = _connect(daemon, subprotocols=offered)
    try:
        assert ws.subprotocol == chosen
        assert _echoes(ws, "x")
    finally:
        ws.close()


def test_a_message_over_the_cap_closes_with_1009(daemon):
    ws = _connect(daemon)
    assert _echoes(ws, "y" * 1000)
    ws.send("z" * 5000)
    with pytest.raises(ConnectionClosed):
        while True:
            ws.receive(timeout=5)
    assert ws.close_reason == 1009


def test_a_client_flooding_a_handler_that_does_not_take_its_messages_is_held_back(daemon):
    ws = _connect(daemon)
    ws.send("stall")
    before = _rss_kib(daemon.proc.pid)
    sent = [0]

    def flood():
        try:
            while time.monotonic() < deadline:
                ws.send("f" * 1000)
                sent[0] += 1
        except OSError:
            pass

    deadline = time.monotonic() + 3
    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    peak = before
    while time.monotonic() < deadline:
        time.sleep(0.2)
        peak = max(peak, _rss_kib(daemon.proc.pid))
    flooder.join(timeout=5)
    try:  # a flooder still blocked in send() (held back) gets out
        ws.sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # closed already: the handler has ended and closed the socket
        pass
    flooder.join(timeout=5)
    assert peak - before < 10 * 1024, (before, peak, sent)


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])


def test_the_handler_closes_with_its_code_and_the_connection_ends(daemon):
    ws = _connect(daemon)
    ws.send("close")
    with pytest.raises(ConnectionClosed):
        ws.receive(timeout=5)
    assert ws.close_reason == 4000 and ws.close_message == "bye"
    # the daemon still serves
    assert requests.get(daemon.url + "/platform/api/ping", timeout=5).text == "pong"


def test_a_quiet_websocket_outlives_the_servers_idle_timeout(daemon):
    ws = _connect(daemon)
    try:
        time.sleep(2.5)  # the idle timeout of HTTP connections is 1 s here
        assert _echoes(ws, "still there")
    finally:
        ws.close()


def test_the_server_side_of_a_closed_websocket_is_gone(daemon):
    """After a client's close the daemon drops the TCP connection (no keep-alive after a WebSocket)."""
    ws = _connect(daemon)
    assert _echoes(ws, "x")
    local = ws.sock.getsockname()
    ws.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _connected_from(daemon.port, local):
        time.sleep(0.1)
    assert not _connected_from(daemon.port, local)


def _connected_from(port: int, local: tuple) -> bool:
    """True while the daemon's side of the connection from ``local`` is established."""
    with open("/proc/net/tcp") as table:
        rows = table.read().splitlines()[1:]
    wanted = "%s:%04X" % (socket.inet_aton(local[0])[::-1].hex().upper(), local[1])
    for row in rows:
        fields = row.split()
        if fields[2] == wanted and fields[1].endswith(":%04X" % port) and fields[3] == "01":
            return True
    return False


def test_daemon_stop_closes_open_websockets_with_1001(own_daemon):
    daemon = own_daemon
    ws = _connect(daemon)
    assert _echoes(ws, "x")
    took = daemon.stop()
    with pytest.raises(ConnectionClosed):
        ws.receive(timeout=5)
    assert ws.close_reason == 1001
    assert took < 3 and daemon.proc.returncode == 0


def test_over_https(tmp_path):
    daemon = _start(tmp_path, http=False)
    try:
        context = ssl.create_default_context(cafile=str(daemon.state / "tls-cert.pem"))
        ws = WsClient.connect(f"wss://127.0.0.1:{daemon.port}/test/ws/echo", subprotocols=["binary"],
                            headers={"Authorization": f"Bearer {daemon.token}"}, ssl_context=context)
        assert ws.subprotocol == "binary"
        time.sleep(1.5)  # past the idle timeout of HTTP connections
        assert _echoes(ws, b"\x01" * 1000) and _echoes(ws, "text")
        ws.close()
        # a fresh connection: the session's keep-alive one is past the 1 s idle timeout
        assert requests.get(daemon.url + "/platform/api/ping", verify=daemon.verify, timeout=5).text == "pong"
    finally:
        daemon.stop()
