"""LEDs (``/platform/api/perif/led*``): on/off LEDs addressed by a 0-based index.

The board's ``led`` driver talks to the hardware; with none, the endpoints answer 404 and the profile
says ``"perif:led": 0`` (otherwise the number of LEDs).

The ``led`` driver interface (besides ``name`` and ``probe()``):

``count() -> int``
    How many LEDs; fixed for the daemon run, so an index always means the same LED.
``get(index) -> bool``
    True when the LED is logically high (on).
``set(index, on: bool) -> None``
    Switch it; the LED shows the new state when this returns.

This plugin checks every index against ``count()`` before calling the driver. A driver raises
``OSError`` for anything the hardware refuses; that is answered 422 ``{"errors": {"LED": ...}}``.
"""
from portald.hookspecs import hookimpl

from . import routes


@hookimpl
def portald_startup(ctx):
    if ctx.driver("led") is None:
        ctx.set_absent("no LED driver found LEDs")


@hookimpl
def portald_blueprints(ctx):
    return [routes.blueprint(ctx)]


@hookimpl
def portald_profile(ctx):
    driver = ctx.driver("led")
    return {"perif:led": driver.count() if driver is not None else 0}
