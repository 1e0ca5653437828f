"""Routes the core itself serves: each service's ``ping`` and ``agentinfo`` (``/auth``,
``/platform/api``, ``/api``, ``/edgehub/api``), the capability profile, and the plugin
listing ``GET /platform/api/plugins`` (an addition to the spec)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from . import __version__, versions
from .app_context import core
from .auth.privileges import PUBLIC, privilege
from .profile_keys import DEFAULTS

SERVICE_PREFIXES = {"/auth": "auth-server", "/platform/api": "rest-server", "/api": "portal-service", "/edgehub/api": "edgehub-agent"}


def _service_blueprint(prefix: str, service: str) -> Blueprint:
    bp = Blueprint(service.replace("-", "_"), __name__, url_prefix=prefix)

    @bp.get("/ping")
    @privilege(PUBLIC)
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

    return list(services.values())
