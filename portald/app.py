"""The Flask app factory: builds the core, loads the plugins, registers every blueprint, and installs
the cross-cutting pieces — the privilege guard, the error renderer, body limits, the ``Host``
allow-list (``portald.request_guards``), security headers; stale temp files of the state dir go first.

Every request pays for what is installed here, so it is kept lean (``bench/http_bench.py`` measures a
ping against a bare Flask app): the security headers are added by a WSGI wrapper rather than an
``after_request`` hook (werkzeug's ``Headers.setdefault`` scans and lower-cases the whole list per
header), Flask's per-call coroutine check is skipped for plain functions, and JSON is encoded by one
encoder built once.
"""
from __future__ import annotations

import inspect
import json
import logging

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from . import audit, core_routes, errors, metrics, openapi
from .auth import routes as auth_routes
from .config import Config, parse_listen
from .core import Core
from .request_guards import ChunkedBodyLimit, HostAllowList
from .state import StateStore

log = logging.getLogger("portald")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
HSTS = ("Strict-Transport-Security", "max-age=31536000")


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, byte for byte (compact, keys in insertion order, Flask's ``default`` for dates,
    dataclasses, ...), with the encoder built once instead of on every response."""

    sort_keys = False

    def __init__(self, app: Flask):
        super().__init__(app)
        self._encode = json.JSONEncoder(default=self.default, ensure_ascii=self.ensure_ascii, sort_keys=False,
                                        separators=(",", ":")).encode

    def response(self, *args, **kwargs):
        if self._app.debug or self.compact is False:
            return super().response(*args, **kwargs)
        body = self._encode(self._prepare_response_obj(args, kwargs))
        return self._app.response_class(body + "\n", content_type=self.mimetype)


class PortaldFlask(Flask):
    json_provider_class = JSONProvider

    def ensure_sync(self, func):
        # Flask asks inspect.iscoroutinefunction() about the guard, the view and every other hook on
        # every request (~1.5 us each); a plain function's code flags answer it at once
        code = getattr(func, "__code__", None)
        if code is not None and not code.co_flags & (inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE):
            return func
        return super().ensure_sync(func)


def create_app(config: Config) -> Flask:
    app = PortaldFlask("portald")
    app.config.update(MAX_CONTENT_LENGTH=config.server.max_body_bytes,
                      PORTALD_MAX_JSON_DEPTH=config.server.max_json_depth,
                      JSON_SORT_KEYS=False)
    StateStore(config.state_dir).remove_stale_temp_files()
    core = Core(config)
    app.extensions["portald"] = core
    errors.install(app)
    core.auth.guard(app)
    app.wsgi_app = SecurityHeaders(HostAllowList(ChunkedBodyLimit(app.wsgi_app, config.server.max_body_bytes),
                                                 config.server.allowed_hosts, parse_listen(config.server.listen)[0]))

    core.start()
    app.register_blueprint(auth_routes.bp)
    metrics.install(app, core)  # GET /metrics, and the request series (its clock goes first)
    audit.install(app, core)  # after the guard: the audit log of writes, logins and WebSockets
    for bp in [*core_routes.blueprints(), *openapi.blueprints()]:  # openapi: /openapi.json and /docs
        app.register_blueprint(bp)
    for plugin, blueprints in core.host.call("portald_blueprints"):
        try:
            for bp in blueprints:
                app.register_blueprint(bp)
        except Exception as exc:
            core.host.fail(plugin, f"cannot register its routes: {type(exc).__name__}: {exc}")
    return app


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` (and HSTS under TLS) to every response that does not set them itself,
    errors included, as the response starts."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self._plain = [(name.lower(), (name, value)) for name, value in SECURITY_HEADERS.items()]
        self._secure = self._plain + [(HSTS[0].lower(), HSTS)]

    def __call__(self, environ, start_response):
        wanted = self._secure if environ.get("wsgi.url_scheme") in ("https", "wss") else self._plain

        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers.extend(header for lower, header in wanted if lower not in present)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)
