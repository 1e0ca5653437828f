"""The Flask app factory: builds the core, loads the plugins, registers every blueprint, and installs
the cross-cutting pieces — the privilege guard, the error renderer, body limits, security headers."""
from __future__ import annotations

import logging

from flask import Flask, Response, request

from . import core_routes, errors
from .auth import routes as auth_routes
from .config import Config
from .core import Core

log = logging.getLogger("portald")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def create_app(config: Config) -> Flask:
    app = Flask("portald")
    app.config.update(MAX_CONTENT_LENGTH=config.server.max_body_bytes,
                      PORTALD_MAX_JSON_DEPTH=config.server.max_json_depth,
                      JSON_SORT_KEYS=False)
    app.json.sort_keys = False
    core = Core(config)
    app.extensions["portald"] = core
    errors.install(app)
    core.auth.guard(app)
    _install_headers(app)

    core.start()
    app.register_blueprint(auth_routes.bp)
    for bp in core_routes.blueprints():
        app.register_blueprint(bp)
    for plugin, blueprints in core.host.call("portald_blueprints"):
        try:
            for bp in blueprints:
                app.register_blueprint(bp)
        except Exception as exc:
            core.host.fail(plugin, f"cannot register its routes: {type(exc).__name__}: {exc}")
    return app


def _install_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
