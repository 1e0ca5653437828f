"""WSGI guards in front of the app for what a request's framing and headers may be: the ``Host``
allow-list (against DNS rebinding) and the body cap on chunked request bodies.

Host allow-list: a browser tricked by DNS rebinding sends the attacker's host name in ``Host``, so a
request naming a host this device does not answer to is refused with 421 ``{"message": ...}`` before
the app sees it. Allowed: ``localhost``, loopback addresses, the machine's host name (and its short
form and ``<short>.local``), any IP literal that is an address of this machine (asked of the kernel
with a ``bind()``, so addresses that DHCP hands out later are allowed too), the listen address, and the
names in ``[server] allowed_hosts`` (``"*"`` there turns the check off). A port in ``Host`` is ignored;
IPv6 literals come in brackets. A request without ``Host`` (HTTP/1.0 tools) passes: browsers always
send one.

Chunked bodies: werkzeug caps a body without ``Content-Length`` at ``max_body_bytes`` by reading no
further, so a longer chunked body was cut short and parsed. ``CappedInput`` looks one byte past the
cap and answers 413 (rendered by ``portald.errors`` like the ``Content-Length`` one), and the
connection is closed instead of reading the rest of an arbitrarily long body.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import socket

from werkzeug.exceptions import RequestEntityTooLarge

log = logging.getLogger("portald.server")

_CACHE_LIMIT = 256


def default_host_names() -> set[str]:
    names = {"localhost", "localhost.localdomain", "127.0.0.1", "::1"}
    host = socket.gethostname().lower().rstrip(".")
    if host:
        short = host.split(".", 1)[0]
        names.update({host, short, f"{short}.local"})
    return names


def _host_part(value: str) -> str:
    """``Host`` without its port, lower-cased, brackets of an IPv6 literal removed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def _is_local_address(text: str) -> bool | None:
    """True when ``text`` is an IP address of this machine, False when it is another address, None
    when it is not an IP literal."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.is_loopback:
        return True
    if address.is_unspecified or address.is_multicast:
        return False
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(address), 0))
        return True
    except OSError:
        return False


class HostAllowList:
    """Refuses requests whose ``Host`` names a host this device does not answer to (421)."""

    def __init__(self, wsgi_app, extra: list[str] = (), listen_host: str = ""):
        self.wsgi_app = wsgi_app
        entries = {_host_part(name) for name in extra if name.strip()}
        self.any = "*" in entries
        self.names = default_host_names() | entries
        if listen_host and not (_is_ip(listen_host) and ipaddress.ip_address(listen_host).is_unspecified):
            self.names.add(listen_host.lower().strip("[]").rstrip("."))
        self._verdicts: dict[str, bool] = {}  # raw Host value -> allowed, bounded
        self._logged: set[str] = set()

    def allowed(self, raw: str) -> bool:
        verdict = self._verdicts.get(raw)
        if verdict is None:
            host = _host_part(raw)
            verdict = host in self.names or bool(_is_local_address(host))
            if len(self._verdicts) >= _CACHE_LIMIT:
                self._verdicts.clear()
            self._verdicts[raw] = verdict
        return verdict

    def __call__(self, environ, start_response):
        raw = environ.get("HTTP_HOST")
        if self.any or raw is None or self.allowed(raw):
            return self.wsgi_app(environ, start_response)
        host = _host_part(raw)[:100]
        if host not in self._logged and len(self._logged) < _CACHE_LIMIT:
            self._logged.add(host)
            log.info("refused requests for host %r (from %s): not in [server] allowed_hosts", host,
                     environ.get("REMOTE_ADDR", "?"))
        body = json.dumps({"message": f"this device does not answer to the host name {host!r}; "
                                      "an administrator can add it to [server] allowed_hosts"}).encode()
        start_response("421 Misdirected Request", [("Content-Type", "application/json"),
                                                   ("Content-Length", str(len(body)))])
        return [body]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


class CappedInput:
    """``wsgi.input`` of a request without ``Content-Length``: raises 413 once more than ``limit``
    bytes come (werkzeug's own cap stops reading at ``limit`` and so never sees the excess)."""

    def __init__(self, stream, limit: int):
        self._stream = stream
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size) if size is not None and size >= 0 else self._stream.read()
        self._count(len(data))
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._stream.readline(size)
        self._count(len(data))
        return data

    def _count(self, n: int) -> None:
        self._left -= n
        if self._left < 0 or (self._left == 0 and n and self._stream.read(1)):
            self._left = -1
            # the rest of the body is not read (it may never end): pywsgi must not drain it, and the
            # connection cannot be reused
            if hasattr(self._stream, "_chunked_input_error"):
                self._stream._chunked_input_error = True
            raise RequestEntityTooLarge()

    @property
    def overflowed(self) -> bool:
        return self._left < 0


class ChunkedBodyLimit:
    """Wraps ``wsgi.input`` of requests without ``Content-Length`` in ``CappedInput``."""

    def __init__(self, wsgi_app, limit: int):
        self.wsgi_app = wsgi_app
        self.limit = limit

    def __call__(self, environ, start_response):
        # pywsgi reads a body only by Content-Length or chunked: anything else has none to cap
        if "HTTP_TRANSFER_ENCODING" not in environ or environ.get("CONTENT_LENGTH") or "wsgi.input" not in environ:
            return self.wsgi_app(environ, start_response)
        capped = CappedInput(environ["wsgi.input"], self.limit)
        environ["wsgi.input"] = capped

        def start(status, headers, exc_info=None):
            if capped.overflowed:
                headers = [(k, v) for k, v in headers if k.lower() != "connection"] + [("Connection", "close")]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)
