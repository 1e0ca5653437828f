"""The accepted WebSocket itself (simple-websocket's ``Server`` with the daemon's send timeout, bounded
read-ahead and close handling). Split from ``portald.websocket`` so that simple-websocket and wsproto
load with the first upgrade, not with every daemon (about 1.8 MiB of a small device's memory)."""
from __future__ import annotations

import socket
import threading
from typing import Callable

import gevent
from simple_websocket import ConnectionClosed, Server
from wsproto.utilities import RemoteProtocolError

__all__ = ["ConnectionClosed", "RemoteProtocolError", "WebSocket"]

from .websocket import CLOSE_GRACE, _live

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
