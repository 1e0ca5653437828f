"""The ``/platform/api/perif/brightness`` routes.

Where the spec is vague:

* It lists only 422 ``{"errors": {"Brightness": ...}}`` for ``PUT``, so a malformed body (not JSON, no
  ``value``, a value that is not an integer) gets that shape too, not the ``validator`` area: a client
  written against this section looks for ``errors.Brightness``. A value outside ``min``..``max`` is the
  same 422.
* It lists no 404, but a machine without a backlight answers the API's "not supported" 404 like every
  other peripheral; the profile's ``perif:brightness`` tells a client beforehand.
* ``PUT`` answers 200 with the body of ``GET`` read after the change: the spec shows no body, so a
  client ignores it, and one that parses every 200 as JSON still can.
"""
from __future__ import annotations


from flask import Blueprint, jsonify

from portald.app_context import identity
from portald.errors import AreaError, hardware_errors
from portald.openapi_decl import accepts
from portald.validation import Body, parse_body

AREA = "Brightness"


class BrightnessBody(Body):
    value: int


def _hardware(what: str):
    return hardware_errors(AREA, what)


def blueprint(ctx) -> Blueprint:
    bp = Blueprint("brightness", __name__, url_prefix="/platform/api/perif/brightness")

    def driver():
        return ctx.require("brightness")

    @bp.get("")
    def get_brightness():
        backlight = driver()
        with _hardware("cannot read the brightness"):
            return jsonify(backlight.read())

    @bp.put("")
    @accepts(BrightnessBody)
    def set_brightness():
        backlight = driver()
        value = parse_body(BrightnessBody, AREA).value
        with _hardware("cannot set the brightness"):
            now = backlight.read()
            if not now["min"] <= value <= now["max"]:
                raise AreaError(AREA, f"value {value} is out of range: expected {now['min']} to {now['max']}")
            backlight.write(value)
            ctx.log.info("brightness set from %d to %d by %s", now["value"], value, identity().user)
            return jsonify(backlight.read())

    return bp
