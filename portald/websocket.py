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
import socket
import threading
import weakref
from typing import Callable, Iterable

import gevent
from flask import Response, request
from simple_websocket import ConnectionClosed, Server
from wsproto.utilities import RemoteProtocolError

from .errors import ApiError

log = logging.getLogger("portald.websocket")

__all__ = ["ConnectionClosed", "WebSocket", "close_all", "is_upgrade", "route", "serve"]

CLOSE_GRACE = 2.0  # seconds to wait for the client's close frame after ours
GOING_AWAY, POLICY_VIOLATION, MESSAGE_TOO_BIG, INTERNAL_ERROR, TRY_AGAIN_LATER = 1001, 1008, 1009, 1011, 1013
_live: "weakref.WeakSet[WebSocket]" = weakref.WeakSet()


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


class _SendSocket:
    """The WebSocket's own descriptor, as simple-websocket sees it: ``send`` writes the whole frame,
    one sender at a time, within ``send_timeout`` seconds (``TimeoutError`` after it)."""

    def __init__(self, sock, send_timeout: float | None, owned: bool):
        self._sock = sock
        self._lock = threading.Lock()  # gevent's under patch_all
        self.send_timeout = send_timeout
        self.owned = owned
        self.stalled = False  # a send timed out: the client does not read, no close frame will get through

    def send(self, data) -> int:
        timer = gevent.Timeout(self.send_timeout, TimeoutError("WebSocket client did not read in time")) \
            if self.send_timeout else None
        if timer is not None:
            timer.start()
        try:
            with self._lock:
                self._sock.sendall(data)
        except TimeoutError:
            self.stalled = True
            raise
        finally:
            if timer is not None:
                timer.close()
        return len(data)

    gate: Callable[[], None] | None = None  # waits while the handler has not taken enough messages

    def recv(self, size: int) -> bytes:
        if self.gate is not None:
            self.gate()
        return self._sock.recv(size)

    def fileno(self) -> int:
        return self._sock.fileno()

    def shutdown(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError):  # closed already
            pass

    def close(self) -> None:
        # The connection's own socket (TLS: not duplicated) is closed by the server's handler once the
        # view returns; closing its descriptor here too would let a new connection take the number
        # while that handler still reads and closes it.
        if self.owned:
            self._sock.close()
        else:
            self.shutdown()


class WebSocket(Server):
    """One accepted WebSocket: ``send``, ``receive(timeout)``, ``close(code, reason)``, ``subprotocol``,
    ``connected``; ``close_code``/``close_message`` after the client closed."""

    def __init__(self, environ, subprotocols, max_message, send_timeout, compress, ping_interval, max_queued=32):
        self.max_queued = max_queued
        self._room = threading.Event()  # gevent's under patch_all
        raw = _connection_socket(environ)
        self._http_socket = raw
        try:
            sock = raw.dup()  # its own descriptor: no idle timeout on it, the HTTP socket keeps its own
        except (NotImplementedError, OSError):  # TLS sockets cannot be duplicated: use it as it is
            sock = raw
        sock.settimeout(None)
        self._own = _SendSocket(sock, send_timeout, owned=sock is not raw)
        self._own.gate = self._wait_for_room
        environ = {key: value for key, value in environ.items()
                   if compress or key != "HTTP_SEC_WEBSOCKET_EXTENSIONS"}
        environ["werkzeug.socket"] = self._own
        try:
            super().__init__(environ, subprotocols=list(subprotocols), max_message_size=max_message,
                             ping_interval=ping_interval)
        except BaseException:
            if self._own.owned:
                self._own.close()
            raise
        _live.add(self)

    @property
    def close_code(self):
        return self.close_reason

    def receive(self, timeout: float | None = None):
        data = super().receive(timeout)
        self._room.set()
        return data

    def _wait_for_room(self) -> None:
        """In the reader, before each read of the socket: while ``max_queued`` messages wait for the
        handler, read no more (the client's sends then back up in TCP): memory stays bounded by
        ``max_queued`` x ``max_message`` however fast a client sends."""
        while self.connected and len(self.input_buffer) >= self.max_queued:
            self._room.clear()
            self._room.wait(1.0)

    def close(self, reason: int | None = None, message: str | None = None) -> None:  # type: ignore[override]
        """Send a close frame (unless the socket is closed already), wait for the client's, drop the
        connection. A client that did not read within ``send_timeout`` is dropped at once (no close
        frame would get through). Safe to call more than once and from any greenlet."""
        _live.discard(self)
        if self.connected and not self._own.stalled:
            try:
                super().close(reason, message)
            except (OSError, ConnectionClosed, gevent.Timeout):
                self.connected = False
        self.connected = False
        self.event.set()  # a receive() waiting wakes up and raises ConnectionClosed
        self._room.set()  # a reader waiting for room reads on (and sees the close or EOF)
        thread = getattr(self, "thread", None)
        if thread is not None and thread is not threading.current_thread() and not self._own.stalled:
            thread.join(CLOSE_GRACE)
        self._own.shutdown()  # the reader (if still waiting) sees EOF and closes the descriptor
        if self._http_socket is not self._own._sock:
            try:  # the HTTP connection under it: its handler sees EOF and ends
                self._http_socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _connection_socket(environ):
    stream = environ.get("wsgi.input")
    stream = getattr(stream, "rfile", stream)
    raw = getattr(getattr(stream, "raw", None), "_sock", None)
    if raw is None:
        raise RuntimeError("the server does not expose the connection's socket (not gevent's pywsgi?)")
    return raw


class _Upgraded(Response):
    """What the view returns after the WebSocket ended: nothing more goes to the client (the 101 and the
    frames were written on the socket directly)."""

    def __call__(self, environ, start_response):
        return []


def serve(handler: Callable[[WebSocket], None], subprotocols: Iterable[str] = (), max_message: int = 64 * 1024,
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
    try:
        ws = WebSocket(request.environ, subprotocols, max_message, send_timeout, compress, ping_interval,
                       max_queued)
    except RemoteProtocolError as exc:  # refused by wsproto before anything was written
        raise ApiError(f"malformed WebSocket upgrade: {exc}", 400) from None
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
