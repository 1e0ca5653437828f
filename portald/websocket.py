"""The daemon's WebSocket plumbing: a capability's view answers a WebSocket upgrade on one of its routes
(simple-websocket under gevent's WSGI server), while the same URL without an upgrade stays a normal
JSON route.

A view uses it like this::

    @websocket.route(bp, "/platform/api/term/ws")  # GET, with and without an upgrade
    @streaming                                  # the token may also come as ?token= (browsers)
    def term_ws():
        if not websocket.is_upgrade():
            return {"os": "linux"}              # a plain GET: JSON as usual
        ...                                     # refuse here with a normal HTTP error (429, 422, ...)
        return websocket.serve(run_session, subprotocols=["webtty"], max_message=64 * 1024)

    def run_session(ws: websocket.WebSocket):
        ws.send("text frame"); ws.send(b"binary frame"); data = ws.receive(timeout=5)

What the helper takes care of:

- **One URL, two rules.** werkzeug routes a WebSocket request only to a rule made with
  ``websocket=True`` (any other answers 400) and a plain request only to one without: ``route``
  registers the view under both, with one endpoint (one privilege declaration).

- **Authentication happens before the upgrade.** The privilege guard runs before the view, like for
  any route, and a ``@streaming`` route accepts the token from the ``Authorization`` header, the
  ``jwt`` cookie or ``?token=`` (only on a WebSocket or event-stream request). A refusal is the usual
  HTTP answer (``401 {"Code":401,...}``), never an upgrade and never a 500.
- **Subprotocols.** The first subprotocol the client offers that the route supports is echoed in
  ``Sec-WebSocket-Protocol`` (``ws.subprotocol``); none is echoed when none is offered or none matches.
- **Server limits.** The connection's socket carries the server's ``idle_timeout_seconds`` (it bounds
  every read of an HTTP connection); an open WebSocket gets its own descriptor (``dup``) without that
  timeout, so a quiet but live WebSocket is not cut: the route applies its own idle policy. The head
  deadline (``request_timeout_seconds``) is over once the upgrade request's head is read. Sends have
  their own bound (``send_timeout``): a client that stops reading blocks the sender (back-pressure,
  memory stays bounded) until that timeout, then the socket is closed.
- **Frames.** ``send(str)`` is a text frame, ``send(bytes)`` a binary one; one send at a time per socket
  (a lock: a reader greenlet and a handler may both send); whole frames (``sendall``). An inbound
  message longer than ``max_message`` bytes closes the socket with 1009; while ``max_queued`` received
  messages wait for the handler the socket is not read (simple-websocket alone reads ahead without
  bound).
- **Closing.** ``close(code, reason)`` sends the close frame, waits ``CLOSE_GRACE`` seconds for the
  client's answer and then drops the TCP connection; the HTTP connection under it ends too (no
  keep-alive after a WebSocket). ``close_all()`` closes every open WebSocket with 1001 (going away):
  the server calls it when the daemon stops, before it waits for its connections.
- **No thread per socket** beyond simple-websocket's reader (``threading.Thread``, which is a greenlet
  under the daemon's ``patch_all``).
"""
from __future__ import annotations

import base64
import binascii
import logging
import weakref
from typing import TYPE_CHECKING, Callable, Iterable

import gevent
from flask import Response, current_app, request
from .errors import ApiError

if TYPE_CHECKING:
    from .websocket_conn import WebSocket

log = logging.getLogger("portald.websocket")

__all__ = ["close_all", "is_upgrade", "route", "serve"]  # and, loaded on first use, ConnectionClosed, WebSocket

CLOSE_GRACE = 2.0  # seconds to wait for the client's close frame after ours
GOING_AWAY, UNSUPPORTED_DATA, POLICY_VIOLATION, MESSAGE_TOO_BIG, INTERNAL_ERROR, TRY_AGAIN_LATER = \
    1001, 1003, 1008, 1009, 1011, 1013
_live: "weakref.WeakSet" = weakref.WeakSet()  # every open WebSocket (portald.websocket_conn.WebSocket)


def __getattr__(name: str):
    """``ConnectionClosed`` and ``WebSocket`` come from ``portald.websocket_conn``, loaded on first use."""
    if name in ("ConnectionClosed", "WebSocket"):
        from . import websocket_conn

        return getattr(websocket_conn, name)
    raise AttributeError(name)


def route(bp, rule: str, **options) -> Callable:
    """Decorator: serve ``rule`` with GET, as a plain request and as a WebSocket upgrade, by one view
    (it tells them apart with ``is_upgrade()``)."""
    def register(view: Callable) -> Callable:
        endpoint = options.pop("endpoint", None) or view.__name__
        bp.add_url_rule(rule, endpoint, view, methods=["GET"], **options)
        bp.add_url_rule(rule, endpoint, view, methods=["GET"], websocket=True, **options)
        return view

    return register


def is_upgrade(req=None) -> bool:
    """True when the request asks for a WebSocket (``Upgrade: websocket`` on a GET)."""
    req = req or request
    return req.method == "GET" and req.headers.get("Upgrade", "").lower() == "websocket" and \
        "upgrade" in req.headers.get("Connection", "").lower()


class _Upgraded(Response):
    """What the view returns after the WebSocket ended: nothing more goes to the client (the 101 and the
    frames were written on the socket directly)."""

    def __call__(self, environ, start_response):
        return []


def serve(handler: Callable[["WebSocket"], None], subprotocols: Iterable[str] = (), max_message: int = 64 * 1024,
          send_timeout: float | None = 60.0, compress: bool = True, ping_interval: float | None = None,
          max_queued: int = 32) -> Response:
    """Accept the upgrade of the current request and run ``handler(ws)`` until it returns; the socket is
    then closed (1000) if the handler did not close it. Return the result from the view.

    ``subprotocols``: the ones this route supports (echo of the first the client offers);
    ``max_message``: the longest inbound message in bytes (1009 beyond); ``send_timeout``: how long one
    send may wait for a client that does not read; ``compress``: accept permessage-deflate when offered;
    ``ping_interval``: send WebSocket pings and close a client that does not answer (None: off);
    ``max_queued``: received messages the handler has not taken yet beyond which the socket is not
    read (back-pressure on the client: memory is bounded by ``max_queued`` x ``max_message``).
    Call it after every check that may refuse the request with an HTTP error. A malformed upgrade
    request is refused like any bad request: 400 ``{"message": ...}`` (426 for a protocol version other
    than 13), before anything is written."""
    _check_handshake(request)
    from .websocket_conn import ConnectionClosed, RemoteProtocolError, WebSocket

    try:
        ws = WebSocket(request.environ, subprotocols, max_message, send_timeout, compress, ping_interval,
                       max_queued)
    except RemoteProtocolError as exc:  # refused by wsproto before anything was written
        raise ApiError(f"malformed WebSocket upgrade: {exc}", 400) from None
    audit = current_app.extensions.get("portald.audit")
    if audit is not None:  # the audit log has a line for every WebSocket opened (portald.audit)
        audit.websocket_opened()
    try:
        handler(ws)
    except ConnectionClosed:
        pass
    except TimeoutError as exc:
        log.info("closing a WebSocket of %s: %s", request.remote_addr, exc)
    except gevent.GreenletExit:  # the server stops and kills its connections
        ws.close(GOING_AWAY, "server shutting down")
        raise
    except Exception:  # a bug in the handler: the client gets 1011, the operator the traceback
        log.exception("WebSocket handler failed (%s)", request.path)
        ws.close(INTERNAL_ERROR, "internal error")
    finally:
        ws.close()
    return _Upgraded()


def _check_handshake(req) -> None:
    """What wsproto would refuse with an exception (a 500 otherwise) checked first, as HTTP errors."""
    if req.headers.get("Sec-WebSocket-Version", "").strip() != "13":
        raise ApiError("WebSocket version 13 is the one supported", 426, {"Sec-WebSocket-Version": "13"})
    try:
        key = base64.b64decode(req.headers.get("Sec-WebSocket-Key", ""), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 16:
        raise ApiError("a WebSocket upgrade needs a Sec-WebSocket-Key of 16 bytes in base64", 400)


def close_all(code: int = GOING_AWAY, reason: str = "server shutting down") -> int:
    """Close every open WebSocket (the daemon stops); how many there were."""
    sockets = list(_live)
    for ws in sockets:
        gevent.spawn(ws.close, code, reason)
    return len(sockets)
