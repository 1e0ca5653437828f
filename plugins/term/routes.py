"""``GET /platform/api/term/ws``: ``{"os": ...}`` as a plain request, a login shell over the GoTTY
protocol (``gotty``) as a WebSocket.

Who gets which shell: an OS account (``m=0``) its own; the admin account (``m=2``) is no OS account, so
it gets the shell of ``[plugins.term] admin_shell_user`` when that is set and is refused otherwise.
Refusals that come after the upgrade (no shell user for the admin account, the caps on terminals,
an account the driver cannot start a shell for) are told to the client the way a browser can show
them: one line of terminal output, then a close frame with the reason (1008 policy, 1013 try again
later, 1011 the OS failed). A missing or bad token is a 401 before any upgrade (the route guard).

A session: the greeting (``3`` title, ``6`` buffer size, ``4`` preferences); then one greenlet pumps
the PTY to the client and the view's greenlet handles what the client sends. The pump reads at most
``read_chunk_bytes`` and sends it before reading again, so a client that does not read blocks the send,
which stops the reads, which stops the shell on a full PTY: memory stays bounded by one message
(until ``send_timeout_seconds``, then the socket is closed). Idle: no input and no resize for
``idle_timeout_seconds`` closes the terminal (GoTTY's heartbeat pings do not count as activity).
"""
from __future__ import annotations

import logging
import socket
import time
from collections import Counter
from typing import Callable

import gevent
from flask import Blueprint, g

from portald import websocket
from portald.auth.privileges import streaming
from portald.auth.service import ADMIN_ACCOUNT
from portald.drivers import DriverError
from portald.errors import NotSupported

from . import gotty

log = logging.getLogger("portald.plugins.term")

COLUMNS, ROWS = 80, 24  # until the client's first resize
POLICY, INTERNAL, TRY_LATER = websocket.POLICY_VIOLATION, websocket.INTERNAL_ERROR, websocket.TRY_AGAIN_LATER


def blueprint(get_driver: Callable, get_settings: Callable) -> Blueprint:
    bp = Blueprint("term", __name__)
    open_terminals: Counter = Counter()  # OS account -> open terminals

    @websocket.route(bp, "/platform/api/term/ws")
    @streaming
    def term_ws():
        driver = get_driver()
        if driver is None:
            raise NotSupported()
        if not websocket.is_upgrade():
            return {"os": driver.os}
        settings = get_settings()
        identity = g.identity
        user, refusal = _shell_user(identity, settings)
        if refusal is None:
            refusal = _over_cap(open_terminals, user, settings)
        if refusal is not None:
            return _serve(lambda ws: _refuse(ws, *refusal), settings)
        open_terminals[user] += 1
        try:
            return _serve(lambda ws: _session(ws, driver, user, identity.user, settings), settings)
        finally:
            open_terminals[user] -= 1
            if open_terminals[user] <= 0:
                del open_terminals[user]

    return bp


def _serve(handler, settings):
    return websocket.serve(handler, subprotocols=[gotty.SUBPROTOCOL], max_message=settings.max_message_bytes,
                           send_timeout=settings.send_timeout_seconds)


def _shell_user(identity, settings) -> tuple[str, tuple | None]:
    if identity.method != ADMIN_ACCOUNT:
        return identity.user, None
    if settings.admin_shell_user:
        return settings.admin_shell_user, None
    return "", (POLICY, "the admin account is no OS account and [plugins.term] admin_shell_user is not set: "
                        "log in with an OS account for a terminal")


def _over_cap(open_terminals: Counter, user: str, settings) -> tuple | None:
    if sum(open_terminals.values()) >= settings.max_terminals:
        return TRY_LATER, f"all {settings.max_terminals} terminals are in use; try again later"
    if open_terminals[user] >= settings.max_terminals_per_user:
        return TRY_LATER, f"{user} has {settings.max_terminals_per_user} terminals open already (the most allowed)"
    return None


def _refuse(ws, code: int, reason: str) -> None:
    log.info("terminal refused: %s", reason)
    ws.send(gotty.output(f"portald: {reason}\r\n".encode()))
    ws.close(code, reason[:120])  # a close reason has at most 123 bytes


def _session(ws, driver, user: str, login: str, settings) -> None:
    try:
        session = driver.open(user, COLUMNS, ROWS)
    except DriverError as exc:
        return _refuse(ws, POLICY, str(exc))
    except OSError as exc:
        log.warning("terminal for %s: %s", user, exc)
        return _refuse(ws, INTERNAL, f"no terminal could be opened: {exc.strerror or exc}")
    log.info("terminal opened for %s (shell user %s, pid %d)", login, user, session.pid)
    pump = None
    try:
        for message in gotty.greeting(f"{user}@{socket.gethostname()}", settings.buffer_size, settings.preferences):
            ws.send(message)
        pump = gevent.spawn(_pump, ws, session, settings.read_chunk_bytes)
        _handle_input(ws, session, settings.idle_timeout_seconds)
    finally:
        if pump is not None:
            pump.kill()
        session.close()
        log.info("terminal closed for %s (pid %d)", login, session.pid)


def _handle_input(ws, session, idle: float) -> None:
    encoding, last_input = "base64", time.monotonic()
    while True:
        wait = None
        if idle:
            wait = last_input + idle - time.monotonic()
            if wait <= 0:
                ws.close(1000, "idle timeout")
                return
        frame = ws.receive(timeout=wait)  # raises ConnectionClosed once the socket is closed
        if frame is None:
            continue
        try:
            message = gotty.decode(frame, encoding)
        except gotty.ProtocolError as exc:
            ws.close(POLICY, str(exc))
            return
        try:
            if isinstance(message, (gotty.Input, gotty.Resize)):
                _apply(session, message)
                last_input = time.monotonic()
        except OSError:  # the shell has just ended (EIO): the pump closes the socket
            continue
        if isinstance(message, gotty.Ping):
            ws.send(gotty.pong())
        elif isinstance(message, gotty.SetEncoding):
            encoding = message.encoding


def _apply(session, message) -> None:
    if isinstance(message, gotty.Input):
        session.write(message.data)
    else:
        session.resize(message.columns, message.rows)


def _pump(ws, session, chunk: int) -> None:
    """The PTY's output to the client, one message per read; closes the socket when the shell ends or
    the client stopped reading for ``send_timeout_seconds``."""
    try:
        while True:
            data = session.read(chunk)
            if not data:
                break
            ws.send(gotty.output(data))
    except websocket.ConnectionClosed:
        return
    except OSError as exc:  # a send timed out (the client does not read) or the socket failed
        log.info("terminal (pid %d): closing: %s", session.pid, exc)
        ws.close(INTERNAL, "output could not be sent")
        return
    ws.close(1000, "the shell has ended")
