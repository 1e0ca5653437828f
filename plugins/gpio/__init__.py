"""General-purpose I/O pins (``/platform/api/perif/gpio/*``), addressed by a 0-based pin index.

The board's ``gpio`` driver talks to the hardware; with none, ``/gpio/count`` says 0, the other
endpoints answer 404, and the profile says ``"perif:gpio:count": 0, "perif:gpio:all": 0`` (otherwise
the pin count and 1).

The ``gpio`` driver interface (besides ``name`` and ``probe()``), in the spec's encoding — direction
0 output, 1 input; level 0 low, 1 high, logical (an active-low pin reads 1 when its wire is low):

``count() -> int``
    How many pins; fixed for the daemon run, so an index always means the same pin.
``read(pin) -> {"dir": 0 | 1, "level": 0 | 1}``
    An output reads back the level it drives; an input reads its wire.
``set_dir(pin, dir) -> None``
    A pin switched to output starts low; setting the direction a pin already has changes nothing
    (an output keeps driving its level, no glitch).
``set_level(pin, level) -> None``
    Outputs only: this plugin refuses inputs before calling it.
``close() -> None`` (optional)
    Release the hardware when the daemon stops.

This plugin checks every pin index against ``count()`` before calling the driver. A driver raises
``OSError`` for anything the hardware refuses; that is answered 422 ``{"errors": {"GPIO": ...}}``.
"""
from portald.hookspecs import hookimpl

from . import routes


@hookimpl
def portald_startup(ctx):
    if ctx.driver("gpio") is None:
        ctx.set_absent("no GPIO driver found pins (see [plugins.gpio] chip and lines)")


@hookimpl
def portald_blueprints(ctx):
    return [routes.blueprint(ctx)]


@hookimpl
def portald_profile(ctx):
    driver = ctx.driver("gpio")
    if driver is None:
        return {"perif:gpio:count": 0, "perif:gpio:all": 0}
    return {"perif:gpio:count": driver.count(), "perif:gpio:all": 1}


@hookimpl
def portald_shutdown(ctx):
    close = getattr(ctx.driver("gpio"), "close", None)
    if close is not None:
        close()
