"""Serving the app: gevent's WSGI server with TLS, TCP_NODELAY on every connection, and a clean stop
on SIGTERM/SIGINT; the connection-level limits against hostile clients (a deadline for the TLS
handshake and request head, a cap per client address, idle timeouts), and quiet, rate-limited log
lines for malformed requests (``bench/abuse_connections.py`` measures them).

TCP_NODELAY matters: pywsgi writes headers and body in two sends, and with Nagle's algorithm plus the
client's delayed ACK every keep-alive response stalls ~40 ms. ``bench/http_bench.py`` checks it.
"""
from __future__ import annotations

import json
import logging
import re
import resource
import signal
import socket
import ssl
import time

import gevent
from gevent.pool import Pool
from gevent.pywsgi import WSGIHandler, WSGIServer

from .config import Config, parse_listen
from .state import StateStore
from .tls import KeyPair, server_names

log = logging.getLogger("portald.server")
STOP_TIMEOUT = 3.0
_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s]*")
_PENDING = object()
_MALFORMED_BODY = b'{"message": "malformed request"}'
_MALFORMED = (b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(_MALFORMED_BODY), _MALFORMED_BODY))


class RateLimitedLog:
    """At most ``burst`` lines per ``window`` seconds through ``log.info``; what is held back is
    counted and said in the next line that gets through. A flood of hostile clients must not fill the
    disk with log lines."""

    def __init__(self, logger: logging.Logger, burst: int = 10, window: float = 10.0):
        self.logger, self.burst, self.window = logger, burst, window
        self._start, self._lines, self.suppressed = 0.0, 0, 0

    def info(self, message: str, *args) -> None:
        now = time.monotonic()
        if now - self._start >= self.window:
            self._start, self._lines = now, 0
        if self._lines >= self.burst:
            self.suppressed += 1
            return
        self._lines += 1
        if self.suppressed:
            message += " (%d more such lines suppressed)"
            args = (*args, self.suppressed)
            self.suppressed = 0
        self.logger.info(message, *args)


class HeadDeadline(gevent.Timeout):
    """Raised in a connection's greenlet when its TLS handshake and request head (request line and
    headers) are not complete within ``request_timeout`` seconds."""


class NoDelayWSGIServer(WSGIServer):
    """Sets TCP_NODELAY and a timeout on every accepted socket, and keeps hostile clients from taking
    every connection slot:

    - ``idle_timeout`` bounds each read and write: a client that sends nothing is dropped after it,
      an event stream whose client stops reading for that long ends too.
    - ``request_timeout`` is a deadline from the connection's start (not from its last byte) for
      the TLS handshake plus the first request's line and headers; a keep-alive request's head must
      come within it from its first byte. A client trickling a byte at a time cannot hold a slot.
      Once the head is read the deadline is off: bodies, responses and event streams are not cut.
    - ``max_per_client`` caps the open connections of one client address; beyond it a new
      connection is closed at once, before any TLS handshake, so that one address can neither take
      the ``max_connections`` pool nor grow the daemon's memory further.
    """

    backlog = 1024  # gevent's 128 overflows under a connection flood: a legitimate SYN then waits 1 s
    idle_timeout: float | None = None
    request_timeout: float | None = None
    max_per_client: int | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.open_per_client: dict[str, int] = {}
        self.notes = RateLimitedLog(log)
        self.awaiting_request: set = set()  # handlers waiting for a request line (idle keep-alives)

    def hang_up_idle(self) -> None:
        """At stop: end the connections that wait for a request (a keep-alive between requests, a
        client that never sent one), so that the stop waits only for requests in progress."""
        for handler in list(self.awaiting_request):
            try:
                handler.socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def do_read(self):
        accepted = super().do_read()
        if accepted:
            sock, address = accepted
            client = address[0] if isinstance(address, tuple) else None
            if client is not None and self.max_per_client:
                count = self.open_per_client.get(client, 0)
                if count >= self.max_per_client:
                    self.notes.info("refused a connection from %s: it has %d open (max_connections_per_client)",
                                    client, count)
                    sock.close()
                    return None
                self.open_per_client[client] = count + 1
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # not TCP (a UNIX socket in tests)
                pass
            if self.idle_timeout:
                sock.settimeout(self.idle_timeout)
        return accepted

    def do_close(self, sock, address=None, *args):
        try:
            super().do_close(sock, address, *args)
        finally:
            client = address[0] if isinstance(address, tuple) else None
            count = self.open_per_client.get(client)
            if count is not None:
                if count <= 1:
                    del self.open_per_client[client]
                else:
                    self.open_per_client[client] = count - 1

    def _deadline(self) -> HeadDeadline | None:
        return HeadDeadline.start_new(self.request_timeout) if self.request_timeout else None

    def _run_handler(self, sock, address, deadline: HeadDeadline | None):
        handler = self.handler_class(sock, address, self)
        handler.deadline = deadline
        try:
            handler.handle()
        except HeadDeadline as expired:
            if expired is not handler.deadline and expired is not deadline:
                raise
            log.debug("closed a connection from %s: request head not complete within %s s",
                      address[0] if isinstance(address, tuple) else "?", self.request_timeout)
        finally:
            if handler.deadline is not None:
                handler.deadline.close()

    def handle(self, sock, address):
        self._run_handler(sock, address, self._deadline())

    def wrap_socket_and_handle(self, client_socket, address):
        # A client that gives up during the TLS handshake (port scanners, browsers refusing the
        # self-signed certificate) is routine, not an error worth a traceback.
        deadline = self._deadline()
        ssl_socket = None
        try:
            if _plain_http_answered(client_socket, self.server_port):
                if deadline is not None:
                    deadline.close()
                return None
            # the handshake outside the constructor, so that the TLS socket is closed whatever ends it
            ssl_socket = self.wrap_socket(client_socket, **dict(self.ssl_args, do_handshake_on_connect=False))
            ssl_socket.do_handshake()
        except BaseException as exc:
            if deadline is not None:
                deadline.close()
            if ssl_socket is not None:
                ssl_socket.close()
            if isinstance(exc, (ssl.SSLError, ConnectionError, TimeoutError)):
                log.debug("TLS handshake with %s failed: %s", address[0] if address else "?", exc)
                return None
            if exc is deadline:
                log.debug("TLS handshake with %s not complete within %s s", address[0] if address else "?",
                          self.request_timeout)
                return None
            raise
        try:
            return self._run_handler(ssl_socket, address, deadline)
        finally:
            ssl_socket.close()


_HTTP_METHODS = (b"GET ", b"HEAD", b"POST", b"PUT ", b"DELE", b"PATC", b"OPTI", b"CONN", b"TRAC")
_HOST_HEADER = re.compile(rb"^host:[ \t]*([A-Za-z0-9.\-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?[ \t]*\r?$",
                          re.IGNORECASE | re.MULTILINE)


def _plain_http_answered(sock, port: int) -> bool:
    """A plain-HTTP request on the TLS port (``curl http://…:8443``) would otherwise end in a failed
    handshake, which the client sees as a reset or an empty reply. Before the handshake the first
    bytes are peeked at: a TLS connection starts with a handshake record (0x16), plain HTTP with a
    method name. Such a client gets a 400 ``{"message": …}`` naming the https URL, and the
    connection is closed. Only well-formed host names from its ``Host`` header are echoed."""
    try:
        first = sock.recv(4, socket.MSG_PEEK)
    except (OSError, ValueError):
        return False
    if first[:4] not in _HTTP_METHODS:
        return False
    try:
        head = sock.recv(2048)
    except OSError:
        head = b""
    match = _HOST_HEADER.search(head)
    host = match.group(1).decode("ascii") if match else "<this device>"
    body = json.dumps({"message": f"this port speaks HTTPS: use https://{host}:{port}/"}).encode()
    reply = (b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\n"
             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    try:
        sock.sendall(reply)
        # unread request bytes at close would make the kernel send a reset, which can destroy the
        # reply before the client reads it: say we are done, then read what is left (bounded; the
        # connection's head deadline still applies)
        sock.shutdown(socket.SHUT_WR)
        for _ in range(32):
            if not sock.recv(2048):
                break
    except OSError:
        pass
    log.debug("plain HTTP on the TLS port from a client: answered with a hint")
    return True


class QuietHandler(WSGIHandler):
    """pywsgi logs every request and every client that disconnects mid-TLS-handshake; operators need
    neither at the default level.

    Each connection also gets a 2 KiB read buffer instead of 8 KiB: request heads here are a few
    hundred bytes (bodies larger than the buffer bypass it), and a long-lived event stream would
    otherwise hold 8 KiB it never uses again — 4 MB at 500 subscribers.

    pywsgi sends a response's head and its first body chunk in two ``send()`` calls. For a body of up
    to ``COALESCE_BYTES`` (nearly every API answer) they go out in one: on a keep-alive connection that
    is one system call and one wake-up of the client less per request, a few percent of a ping's
    throughput (``bench/http_bench.py``). TCP_NODELAY is still needed for what is sent in pieces
    (event streams)."""

    READ_BUFFER = 2048
    COALESCE_BYTES = 64 * 1024
    _head = None  # while a head is written: _PENDING, then the head's bytes until the body comes

    def __init__(self, sock, address, server):
        super().__init__(sock, address, server)
        self.rfile.close()  # the default 8 KiB reader, not yet used; the socket stays open
        self.rfile = sock.makefile("rb", self.READ_BUFFER)

    def log_request(self):
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s", _TOKEN_IN_QUERY.sub(r"\1<redacted>", self.format_request()))

    def _write_with_headers(self, data):
        self._head = _PENDING
        try:
            super()._write_with_headers(data)
        except BaseException:
            self._head = None  # a held head goes nowhere: pywsgi closes the connection
            raise
        head, self._head = self._head, None
        if head is not None and head is not _PENDING:  # no body came (an empty one): the head alone
            super()._sendall(head)

    def _sendall(self, data):
        head = self._head
        if head is None:
            return super()._sendall(data)
        if head is _PENDING:  # this is the head: hold it for the body that follows
            self._head = data
            return None
        self._head = None
        if len(data) <= self.COALESCE_BYTES:
            return super()._sendall(head + data)
        super()._sendall(head)
        return super()._sendall(data)

    deadline: HeadDeadline | None = None  # running while a request head is awaited (set by the server)

    def read_requestline(self):
        ours = isinstance(self.server, NoDelayWSGIServer)
        if ours:
            self.server.awaiting_request.add(self)
        try:
            timeout = self.server.request_timeout if ours else None
            if self.deadline is None and timeout:
                # a keep-alive request after the first: it may start within the idle limit, then its
                # head must be complete within the deadline from its first byte
                if not self.rfile.peek(1):
                    return ""
                self.deadline = HeadDeadline.start_new(timeout)
            return super().read_requestline()
        finally:
            if ours:
                self.server.awaiting_request.discard(self)

    def read_request(self, raw_requestline):
        try:
            return super().read_request(raw_requestline)
        finally:
            if self.deadline is not None:
                self.deadline.close()
                self.deadline = None

    def _handle_client_error(self, ex):
        # Malformed requests (a bad request line, more than 100 headers, ...) come from clients
        # not yet authenticated: one short line at INFO, rate-limited, never a traceback.
        notes = getattr(self.server, "notes", None)
        if notes is not None:
            client = self.client_address[0] if isinstance(self.client_address, tuple) else self.client_address
            notes.info("malformed request from %s: %s", client, _short(ex))
        return ("400", _MALFORMED)

    def get_environ(self):
        environ = super().get_environ()
        # lets an event stream notice at once that its client has gone (portald.events)
        environ["portald.socket_fd"] = self.socket.fileno()
        return environ


def _short(ex: BaseException) -> str:
    text = getattr(ex, "formatted_message", None) or str(ex) or type(ex).__name__
    text = _TOKEN_IN_QUERY.sub(r"\1<redacted>", text)  # a malformed line may still carry ?token=
    return text if len(text) <= 120 else text[:117] + "..."


def raise_file_limit() -> None:
    """Each connection is a file descriptor; the usual soft limit (1024) is below what
    ``max_connections`` plus the daemon's own files need, so take the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
        except (ValueError, OSError):
            pass


def generated_tls_pair(config: Config) -> KeyPair | None:
    """The self-signed HTTPS key pair of the state dir, when the daemon serves HTTPS without a configured
    certificate; a missing pair starts being made at once (call it early, it runs while the app loads)."""
    if config.server.http or (config.server.tls_cert and config.server.tls_key):
        return None
    return KeyPair(StateStore(config.state_dir), "tls-key.pem", "tls-cert.pem", socket.gethostname(), server_names(),
                   early=True)


def tls_context(config: Config, pair: KeyPair | None = None) -> ssl.SSLContext:
    if config.server.tls_cert and config.server.tls_key:
        cert, key = config.server.tls_cert, config.server.tls_key
    else:
        pair = pair or generated_tls_pair(config)
        pair.pem()
        cert, key = str(pair.store.path(pair.cert_name)), str(pair.store.path(pair.key_name))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def reachable_urls(scheme: str, host: str, port: int) -> list[str]:
    """The URLs a person can open for a listen address: a wildcard (``0.0.0.0``, ``::``) becomes
    loopback plus this machine's own addresses (IPv4, then global IPv6), so that ``make run`` prints
    something to paste into a browser rather than ``https://0.0.0.0:8443``."""
    def url(address: str) -> str:
        return f"{scheme}://[{address}]:{port}/" if ":" in address else f"{scheme}://{address}:{port}/"

    if host not in ("0.0.0.0", "::", ""):
        return [url(host)]
    import psutil

    wanted = {socket.AF_INET} | ({socket.AF_INET6} if host == "::" else set())
    addresses = ["127.0.0.1"]
    try:
        interfaces = psutil.net_if_addrs()
    except OSError:
        interfaces = {}
    for name in sorted(interfaces):
        for entry in interfaces[name]:
            address = entry.address.split("%")[0]
            if entry.family not in wanted or address in addresses or address.startswith(("127.", "fe80:")) \
                    or address == "::1":
                continue
            addresses.append(address)
    return [url(address) for address in addresses]


def serve(app, config: Config, on_ready=None, tls_pair: KeyPair | None = None) -> None:
    """Serve until SIGTERM/SIGINT; ``on_ready(urls)`` is called once the socket listens, with
    ``reachable_urls`` of the address really bound (the port too, when 0 asked for any)."""
    host, port = parse_listen(config.server.listen)
    options = {} if config.server.http else {"ssl_context": tls_context(config, tls_pair)}
    raise_file_limit()
    server = NoDelayWSGIServer((host, port), app, log=None, error_log=logging.getLogger("portald.wsgi"),
                               handler_class=QuietHandler, spawn=Pool(config.server.max_connections), **options)
    server.idle_timeout = config.server.idle_timeout_seconds
    server.request_timeout = config.server.request_timeout_seconds
    server.max_per_client = config.server.max_connections_per_client
    server.start()
    scheme = "http" if config.server.http else "https"
    log.info("portald listening on %s://%s:%d (board: %s)", scheme, host, server.server_port, config.board)
    if on_ready:
        on_ready(reachable_urls(scheme, host, server.server_port))
    stopping = gevent.event.Event()

    def _stop(*_):
        if not stopping.is_set():
            log.info("stopping")
            stopping.set()

    gevent.signal_handler(signal.SIGTERM, _stop)
    gevent.signal_handler(signal.SIGINT, _stop)
    stopping.wait()
    from . import websocket

    websocket.close_all()  # open WebSockets get their close frame (1001) instead of a cut after STOP_TIMEOUT
    server.close()  # no new connections; then idle ones end at once, requests in progress get STOP_TIMEOUT
    server.hang_up_idle()
    server.stop(timeout=STOP_TIMEOUT)
    app.extensions["portald"].shutdown()
    log.info("stopped")
