"""``/edgehub/api/edgebus/*``: the EdgeBus (embedded broker) status and its on/off switch.

Errors use the EdgeHub part's shape, ``{"message": ...}``: 404 without Mosquitto (the spec's "no
EdgeBus service support"), and 422 — the only error status the spec lists for ``PUT .../config`` besides
401 — both for a body that is not ``{"enabled": <boolean>}`` and when the switch was saved but the
broker did not come up (as the EdgeHub routes answer a bad body). Reading is for any user; the switch is for administrators
(the default for a write).
"""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, jsonify

from portald.app_context import identity
from portald.drivers import DriverError
from portald.errors import ApiError, AreaError, NotSupported
from portald.openapi_decl import MESSAGE, accepts, answers
from portald.validation import Body, parse_body


class ConfigBody(Body):
    enabled: bool


def _unsupported():
    raise NotSupported("no EdgeBus service support: Mosquitto is not installed")


def blueprint(get_bus: Callable[[], object | None], log) -> Blueprint:
    bp = Blueprint("edgebus", __name__, url_prefix="/edgehub/api/edgebus")

    def bus():
        return get_bus() or _unsupported()

    @bp.get("/status")
    def status():
        return jsonify(bus().status())

    @bp.put("/config")
    @accepts(ConfigBody)
    @answers({422: MESSAGE})
    def config():
        found = bus()
        try:
            enabled = parse_body(ConfigBody).enabled
        except AreaError as exc:
            raise ApiError(exc.message, 422) from None
        try:
            found.set_enabled(enabled)
        except (DriverError, OSError) as exc:
            reason = str(getattr(exc, "strerror", None) or exc)
            log.warning("%s turned the EdgeBus %s, which failed: %s", identity().user, "on" if enabled else "off",
                        reason)
            raise ApiError(reason, 422) from None
        log.info("%s turned the EdgeBus %s", identity().user, "on" if enabled else "off")
        return jsonify({"enabled": enabled})

    return bp
