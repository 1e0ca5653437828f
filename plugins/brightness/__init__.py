"""Display brightness (``/platform/api/perif/brightness``): one value between a minimum and a maximum.

The board's ``brightness`` driver talks to the hardware; with none, the endpoints answer 404 and the
profile says ``"perif:brightness": 0`` (1 when there is a driver).

The ``brightness`` driver interface (besides ``name`` and ``probe()``):

``read() -> {"min": int, "max": int, "value": int}``
    The supported range and the current value.
``write(value: int) -> None``
    Set the value; this plugin has already checked it is within ``read()``'s range.

A driver raises ``OSError`` for anything the hardware refuses; that is answered 422
``{"errors": {"Brightness": ...}}``.
"""
from portald.hookspecs import hookimpl

from . import routes


@hookimpl
def portald_startup(ctx):
    if ctx.driver("brightness") is None:
        ctx.set_absent("no brightness driver found a backlight")


@hookimpl
def portald_blueprints(ctx):
    return [routes.blueprint(ctx)]


@hookimpl
def portald_profile(ctx):
    return {"perif:brightness": 1 if ctx.driver("brightness") is not None else 0}
