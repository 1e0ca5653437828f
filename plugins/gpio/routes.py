"""The ``/platform/api/perif/gpio`` routes.

Where the spec is vague:

* ``/gpio/count`` lists no 404, so a machine without GPIO answers ``{"count": 0}``, which is true and
  what a client asking "how many?" can use; every other GPIO endpoint answers the usual 404.
* ``:id`` is a plain decimal pin index from 0. Anything else (``-1``, ``1.5``, ``x``) and a pin past the
  last are the spec's 400 ``{"errors": {"GPIO": "invalid parameter"}}``; the id is checked before the
  body, so a bad id with a bad body is 400.
* ``dir`` and ``level`` in a body are the integers 0 or 1; ``true``, ``1.0`` or ``"1"`` are the spec's
  422 ``validator`` error, like a missing field.
* Setting the level of an input pin is 422 ``{"errors": {"GPIO": ...}}`` ("applied but got errors"),
  as is anything the hardware refuses.
* ``PUT`` answers 200 with the value now in effect (``{"dir": d}`` or ``{"level": l}``, the body of
  the matching ``GET``): the spec shows no body, so a client ignores it.
"""
from __future__ import annotations

import re

from flask import Blueprint, jsonify
from pydantic import Field

from portald.app_context import identity
from portald.errors import AreaError, hardware_errors
from portald.openapi_decl import AREA_ERROR, accepts, answers, links
from portald.validation import Body, parse_body

AREA = "GPIO"
OUTPUT, INPUT = 0, 1
INDEX = re.compile(r"[0-9]{1,9}")


class DirBody(Body):
    dir: int = Field(ge=0, le=1)


class LevelBody(Body):
    level: int = Field(ge=0, le=1)


def _hardware(what: str):
    return hardware_errors(AREA, what)


def blueprint(ctx) -> Blueprint:
    bp = Blueprint("gpio", __name__, url_prefix="/platform/api/perif/gpio")

    def driver():
        return ctx.require("gpio")

    def pins(gpio) -> int:
        with _hardware("cannot read the GPIO pins"):
            return gpio.count()

    def pin_of(gpio, raw: str) -> int:
        if not INDEX.fullmatch(raw) or int(raw) >= pins(gpio):
            raise AreaError(AREA, "invalid parameter", 400)
        return int(raw)

    def read(gpio, pin: int) -> dict:
        with _hardware(f"cannot read pin {pin}"):
            state = gpio.read(pin)
        return {"pin": pin, "dir": state["dir"], "level": state["level"]}

    @bp.get("/count")
    def count():
        gpio = ctx.driver("gpio")
        return jsonify({"count": pins(gpio) if gpio is not None else 0})

    @bp.get("/all")
    @links(one_pin=("gpio.one_pin", "GET", {"raw_id": "$response.body#/0/pin"}),
           set_dir=("gpio.set_dir", "PUT", {"raw_id": "$response.body#/0/pin"}),
           set_level=("gpio.set_level", "PUT", {"raw_id": "$response.body#/0/pin"}))
    def all_pins():
        gpio = driver()
        return jsonify([read(gpio, pin) for pin in range(pins(gpio))])

    @bp.get("/<raw_id>")
    @answers({400: AREA_ERROR})
    def one_pin(raw_id: str):
        gpio = driver()
        return jsonify(read(gpio, pin_of(gpio, raw_id)))

    @bp.get("/<raw_id>/dir")
    @answers({400: AREA_ERROR})
    def get_dir(raw_id: str):
        gpio = driver()
        return jsonify({"dir": read(gpio, pin_of(gpio, raw_id))["dir"]})

    @bp.put("/<raw_id>/dir")
    @accepts(DirBody)
    @answers({400: AREA_ERROR})
    def set_dir(raw_id: str):
        gpio = driver()
        pin = pin_of(gpio, raw_id)
        direction = parse_body(DirBody).dir
        with _hardware(f"cannot set the direction of pin {pin}"):
            gpio.set_dir(pin, direction)
        ctx.log.info("GPIO pin %d set to %s by %s", pin, "input" if direction == INPUT else "output",
                     identity().user)
        return jsonify({"dir": direction})

    @bp.get("/<raw_id>/level")
    @answers({400: AREA_ERROR})
    def get_level(raw_id: str):
        gpio = driver()
        return jsonify({"level": read(gpio, pin_of(gpio, raw_id))["level"]})

    @bp.put("/<raw_id>/level")
    @accepts(LevelBody)
    @answers({400: AREA_ERROR})
    def set_level(raw_id: str):
        gpio = driver()
        pin = pin_of(gpio, raw_id)
        level = parse_body(LevelBody).level
        if read(gpio, pin)["dir"] == INPUT:
            raise AreaError(AREA, f"pin {pin} is an input: set its direction to output (0) first")
        with _hardware(f"cannot set the level of pin {pin}"):
            gpio.set_level(pin, level)
        ctx.log.info("GPIO pin %d driven %s by %s", pin, "high" if level else "low", identity().user)
        return jsonify({"level": level})

    return bp
