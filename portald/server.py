"""Serving the app: gevent's WSGI server with TLS, TCP_NODELAY on every connection, and a clean stop
on SIGTERM/SIGINT.

TCP_NODELAY matters: pywsgi writes headers and body in two sends, and with Nagle's algorithm plus the
client's delayed ACK every keep-alive response stalls ~40 ms. ``bench/http_bench.py`` checks it.
"""
from __future__ import annotations

import logging
import re
import resource
import signal
import socket
import ssl

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


class NoDelayWSGIServer(WSGIServer):
    """Sets TCP_NODELAY and a timeout on every accepted socket. The timeout bounds each read and write:
    a client that opens connections and sends nothing (or half a request, or stalls its TLS
    handshake) is dropped after ``idle_timeout`` seconds instead of holding a file descriptor for
    ever; an event stream whose client stops reading for that long ends too."""

    idle_timeout: float | None = None

    def do_read(self):
        accepted = super().do_read()
        if accepted:
            try:
                accepted[0].setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # not TCP (a UNIX socket in tests)
                pass
            if self.idle_timeout:
                accepted[0].settimeout(self.idle_timeout)
        return accepted

    def wrap_socket_and_handle(self, client_socket, address):
        # A client that gives up during the TLS handshake (port scanners, browsers refusing the
        # self-signed certificate) is routine, not an error worth a traceback.
        try:
            return super().wrap_socket_and_handle(client_socket, address)
        except (ssl.SSLError, ConnectionError, TimeoutError) as exc:
            log.debug("TLS handshake with %s failed: %s", address[0] if address else "?", exc)
            return None


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

    def get_environ(self):
        environ = super().get_environ()
        # lets an event stream notice at once that its client has gone (portald.events)
        environ["portald.socket_fd"] = self.socket.fileno()
        return environ


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


def serve(app, config: Config, on_ready=None, tls_pair: KeyPair | None = None) -> None:
    host, port = parse_listen(config.server.listen)
    options = {} if config.server.http else {"ssl_context": tls_context(config, tls_pair)}
    raise_file_limit()
    server = NoDelayWSGIServer((host, port), app, log=None, error_log=logging.getLogger("portald.wsgi"),
                               handler_class=QuietHandler, spawn=Pool(config.server.max_connections), **options)
    server.idle_timeout = config.server.idle_timeout_seconds
    server.start()
    scheme = "http" if config.server.http else "https"
    log.info("portald listening on %s://%s:%d (board: %s)", scheme, host, server.server_port, config.board)
    if on_ready:
        on_ready(f"{scheme}://{host}:{server.server_port}")
    stopping = gevent.event.Event()

    def _stop(*_):
        if not stopping.is_set():
            log.info("stopping")
            stopping.set()

    gevent.signal_handler(signal.SIGTERM, _stop)
    gevent.signal_handler(signal.SIGINT, _stop)
    stopping.wait()
    server.stop(timeout=STOP_TIMEOUT)
    app.extensions["portald"].shutdown()
    log.info("stopped")
