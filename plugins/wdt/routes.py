"""The ``/platform/api/perif/wdt`` routes. Reads for any user; both PUTs need an administrator (the
privilege guard's default for writes, so nothing is declared here).

Where the spec is vague: a body that is not JSON or does not match (``enabled`` missing or not a
boolean, ``seconds`` not an integer — ``true`` and ``15.0`` are not integers, unknown fields) is the
spec's 422 ``{"errors":{"validator":...}}``; a well-formed ``seconds`` outside
[timeoutMinInSeconds, timeoutMaxInSeconds], or hardware refusing the change, is 422
``{"errors":{"WDT":...}}``, as is a watchdog that cannot be read on ``GET`` (the spec lists that 422
for the GET too; 404 is kept for "no watchdog at all"). ``"seconds": null`` counts as omitted. The responses carry what the hardware
reports after the change (a driver may round the timeout), not an echo of the request.
"""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, g, jsonify

from portald.errors import NotSupported
from portald.openapi_decl import accepts
from portald.validation import Body, parse_body


class Switch(Body):
    enabled: bool
    seconds: int | None = None


class Timeout(Body):
    seconds: int


def blueprint(get_control: Callable) -> Blueprint:
    bp = Blueprint("wdt", __name__, url_prefix="/platform/api/perif/wdt")

    def supported():
        watchdog = get_control()
        if watchdog is None:
            raise NotSupported()
        return watchdog

    def who() -> str:
        identity = getattr(g, "identity", None)
        return identity.user if identity is not None else "?"

    @bp.get("")
    def show():
        info = supported().info()
        return jsonify({"enabled": info["enabled"], "type": info["type"], "timeoutInSeconds": info["timeout"],
                        "timeoutMaxInSeconds": info["max"], "timeoutMinInSeconds": info["min"]})

    @bp.put("")
    @accepts(Switch)
    def switch():
        watchdog = supported()
        body = parse_body(Switch)
        now = watchdog.switch(body.enabled, body.seconds, who())
        return jsonify({"enabled": now["enabled"], "seconds": now["timeout"]})

    @bp.put("/timeout")
    @accepts(Timeout)
    def timeout():
        watchdog = supported()
        body = parse_body(Timeout)
        return jsonify({"seconds": watchdog.set_timeout(body.seconds, who())["timeout"]})

    return bp
