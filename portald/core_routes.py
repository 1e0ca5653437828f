"""Routes the core itself serves: each service's ``ping`` and ``agentinfo`` (``/auth``,
``/platform/api``, ``/api``, ``/edgehub/api``), the capability profile, the plugin
listing ``GET /platform/api/plugins`` (an addition to the spec), and ``GET /`` (also an addition): the
web UI when it was built (``portald.webui``), else a short page that tells whoever opens the device's
address in a browser where the API is."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from . import __version__, versions, webui
from .app_context import core
from .auth.privileges import PUBLIC, privilege
from .openapi_decl import JSON, TEXT, answers
from .profile_keys import DEFAULTS

SERVICE_PREFIXES = {"/auth": "auth-server", "/platform/api": "rest-server", "/api": "portal-service", "/edgehub/api": "edgehub-agent"}


def _service_blueprint(prefix: str, service: str) -> Blueprint:
    bp = Blueprint(service.replace("-", "_"), __name__, url_prefix=prefix)

    @bp.get("/ping")
    @privilege(PUBLIC)
    @answers({200: TEXT})
    def ping():
        return Response("pong", mimetype="text/plain")

    @bp.get("/agentinfo")
    @privilege(PUBLIC)
    def agentinfo():
        return jsonify({"version": versions.SERVICES[service]})

    return bp


def profile_document() -> dict:
    profile = core().host.profile(DEFAULTS)
    for service, version in versions.SERVICES.items():
        profile[f"agent:version:{service}"] = version
    return dict(sorted(profile.items()))


_FRONT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>portald</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 42em; margin: 2em auto; line-height: 1.4">
<h1>portald</h1>
<p>This device is managed by portald, which serves the Platform Portal REST API at this address.
Its web user interface is not built into this installation (<code>make webui</code> builds it):
use the API with any HTTP client, or its interactive documentation at <a href="/docs">/docs</a>
(the OpenAPI document: <a href="/openapi.json">/openapi.json</a>).</p>
<ol>
<li>Log in: <code>POST /auth/login?m=2</code> with <code>{"username": "admin", "password": "..."}</code>
(the built-in admin account; <code>m=0</code> for an operating-system account). The factory password
must be changed first: <code>PUT /auth/user/admin/password</code>.</li>
<li>Send the token as <code>Authorization: Bearer &lt;token&gt;</code>.</li>
<li>Start with <code>GET /edgehub/api/profile</code> (what this device can do) and
<code>GET /platform/api/plugins</code> (which plugin and driver serves each capability).</li>
</ol>
<p>Health checks without a token: <code>GET /platform/api/ping</code>. The README shipped with portald
describes every endpoint and setting.</p>
</body></html>
"""


def _front_blueprint() -> Blueprint:
    bp = Blueprint("front", __name__)

    @bp.get("/")
    @privilege(PUBLIC)
    @answers({200: ("text/html", JSON)})
    def front():
        """A browser gets the page; a client that asks for JSON gets where to start in one object."""
        if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
            return jsonify({"message": "portald: Platform Portal REST API", "login": "/auth/login?m=2",
                            "profile": "/edgehub/api/profile", "plugins": "/platform/api/plugins",
                            "ping": "/platform/api/ping", "openapi": "/openapi.json", "docs": "/docs"})
        return webui.index_response() or Response(_FRONT_PAGE, mimetype="text/html")

    return bp


def blueprints() -> list[Blueprint]:
    services = {service: _service_blueprint(prefix, service) for prefix, service in SERVICE_PREFIXES.items()}

    @services["edgehub-agent"].get("/profile")
    def profile():
        return jsonify(profile_document())

    @services["rest-server"].get("/plugins")
    def plugins():
        """Every plugin with its state (active / absent / failed / disabled) and reason, and the driver
        chosen per capability."""
        return jsonify({"version": __version__, **core().host.status()})

    return [_front_blueprint(), webui.blueprint(), *services.values()]
