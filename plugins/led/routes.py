"""The ``/platform/api/perif/led`` routes.

Where the spec is vague:

* ``:id`` is a plain decimal index from 0. Anything else (``-1``, ``1.5``, ``x``) and an index past the
  last LED are the spec's 400 ``{"errors": {"LED": ...}}``.
* ``PUT .../:id`` answers 200 with the LED's new value (``true``/``false``, the body of ``GET .../:id``):
  the spec shows no body, so a client ignores it, and a client that parses every 200 as JSON still can.
* A read the hardware refuses is 422 ``{"errors": {"LED": ...}}`` (the spec's "applied but got errors"),
  also on ``GET /perif/led``, for which the spec lists no error at all: a 500 is never the answer.
"""
from __future__ import annotations

import re

from flask import Blueprint, jsonify

from portald.app_context import identity
from portald.errors import AreaError, hardware_errors
from portald.openapi_decl import AREA_ERROR, accepts, answers
from portald.validation import Body, parse_body

AREA = "LED"
# Nine digits are far more LEDs than any board has and keep int() trivially cheap.
INDEX = re.compile(r"[0-9]{1,9}")


class LedBody(Body):
    status: bool


def _hardware(what: str):
    return hardware_errors(AREA, what)


def blueprint(ctx) -> Blueprint:
    bp = Blueprint("led", __name__, url_prefix="/platform/api/perif/led")

    def driver():
        return ctx.require("led")

    def index(led, raw: str) -> int:
        with _hardware("cannot read the LEDs"):
            count = led.count()
        if not INDEX.fullmatch(raw) or int(raw) >= count:
            raise AreaError(AREA, f"invalid LED index {raw[:20]!r}: expected 0 to {count - 1}", 400)
        return int(raw)

    @bp.get("")
    def all_leds():
        led = driver()
        with _hardware("cannot read the LEDs"):
            return jsonify([led.get(i) for i in range(led.count())])

    @bp.get("/<raw_id>")
    @answers({400: AREA_ERROR})
    def one_led(raw_id: str):
        led = driver()
        i = index(led, raw_id)
        with _hardware(f"cannot read LED {i}"):
            return jsonify(led.get(i))

    @bp.put("/<raw_id>")
    @accepts(LedBody)
    @answers({400: AREA_ERROR})
    def set_led(raw_id: str):
        led = driver()
        i = index(led, raw_id)
        body = parse_body(LedBody)
        with _hardware(f"cannot set LED {i}"):
            led.set(i, body.status)
        ctx.log.info("LED %d switched %s by %s", i, "on" if body.status else "off", identity().user)
        return jsonify(body.status)

    return bp
