"""The ``/platform/api/rdesk`` routes: ``POST /config`` hands out a session, ``GET /<id>`` is its
WebSocket, a byte relay to the VNC server in binary frames (what noVNC and websockify speak; the
``binary`` subprotocol is echoed when offered).

Both need an administrator: a remote desktop is the keyboard and mouse of the machine's desktop
session (often root's on a kiosk or a panel PC), so whoever holds one can run anything as that user —
more than an ordinary OS account may do through the portal.

The relay bounds its memory both ways: the VNC server's bytes are read 64 KiB at a time and the next
read waits until the client took the last (a client that stops reading stalls x11vnc's socket, and
after the WebSocket's send timeout the session is closed); a client's message is at most
``max_message_bytes`` and is written to the VNC server (within the same timeout) before the next one
is taken. simple-websocket's reader (under ``portald.websocket``) still reads a client's messages ahead
of the relay without a bound, so a client that floods a stalled session holds that much memory until
the timeout ends the session.
"""
from __future__ import annotations

import logging
from typing import Callable

import gevent
from flask import Blueprint

from portald import websocket
from portald.app_context import identity
from portald.auth.privileges import ADMIN, privilege, streaming
from portald.auth.service import OS_ACCOUNT
from portald.drivers import DriverError
from portald.errors import ApiError, NotSupported
from portald.openapi_decl import MESSAGE, answers, links

from .sessions import Desk

log = logging.getLogger("portald.plugins.rdesk")
CHUNK = 64 * 1024


def relay(ws, port: int, send_timeout: float, connect_timeout: float = 5.0) -> None:
    """Copy bytes between the WebSocket and the VNC server at 127.0.0.1:``port`` until either side
    ends, or one side does not take what the other sent within ``send_timeout`` seconds."""
    from gevent import socket

    try:
        vnc = socket.create_connection(("127.0.0.1", port), timeout=connect_timeout)
    except OSError as exc:
        log.warning("the VNC server at 127.0.0.1:%d does not answer: %s", port, exc)
        ws.close(websocket.INTERNAL_ERROR, "the VNC server does not answer")
        return
    vnc.settimeout(None)

    def to_client():
        try:
            while True:
                data = vnc.recv(CHUNK)
                if not data:
                    break
                ws.send(data)
        except TimeoutError:  # websocket's send_timeout (an OSError too)
            log.info("a remote desktop client stopped reading; closing its session")
        except (OSError, websocket.ConnectionClosed):
            pass
        ws.close()  # the VNC server ended (not reached when the client's end killed this greenlet)

    reader = gevent.spawn(to_client)
    try:
        while True:
            message = ws.receive()
            if message is None:
                continue
            if isinstance(message, str):
                ws.close(websocket.UNSUPPORTED_DATA, "binary frames only")
                break
            with gevent.Timeout(send_timeout, TimeoutError("the VNC server did not read in time")):
                vnc.sendall(message)
    except TimeoutError as exc:
        log.info("closing a remote desktop session: %s", exc)
    except (OSError, websocket.ConnectionClosed):
        pass
    finally:
        vnc.close()
        reader.kill()


def _account() -> str:
    """Who asks, as sessions and the log name them: the admin account and an OS account of the
    same name are two accounts."""
    caller = identity()
    return caller.user if caller.method == OS_ACCOUNT else f"{caller.user} (m={caller.method})"


def blueprint(get_desk: Callable[[], Desk | None], absent: Callable[[], str], settings) -> Blueprint:
    bp = Blueprint("rdesk", __name__, url_prefix="/platform/api/rdesk")

    @bp.post("/config")
    @privilege(ADMIN)
    @answers({422: MESSAGE})
    @links(connect=("rdesk.connect", "GET", {"session_id": "$response.body#/id"}))
    def config():
        desk = get_desk()
        if desk is None:
            raise ApiError(absent(), 422)
        try:
            session_id, password = desk.create(_account())
        except DriverError as exc:
            raise ApiError(str(exc), 422) from None
        return {"id": session_id, "os": desk.driver.os, "password": password}

    @websocket.route(bp, "/<session_id>")
    @streaming
    @privilege(ADMIN)
    @answers({400: MESSAGE})
    def connect(session_id: str):
        desk = get_desk()
        if desk is None:
            raise NotSupported("no remote desktop on this machine")
        if not websocket.is_upgrade():
            raise ApiError("this URL is a WebSocket (Upgrade: websocket)", 400)
        who = _account()
        port = desk.claim(session_id, who)
        if port is None:
            raise NotSupported("no such remote desktop session, or it expired")

        def run(ws):
            log.info("remote desktop session %s opened by %s", session_id, who)
            try:
                relay(ws, port, settings.send_timeout_seconds)
            finally:
                desk.end(session_id)
                log.info("remote desktop session %s closed", session_id)

        try:
            return websocket.serve(run, subprotocols=["binary"], max_message=settings.max_message_bytes,
                                   send_timeout=settings.send_timeout_seconds)
        except BaseException:
            desk.end(session_id)  # the upgrade itself failed: the session is over
            raise

    return bp
