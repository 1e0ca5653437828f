"""Hardware monitor: temperatures, voltages, currents and fan speeds (``/platform/api/hwmon*``).

Readings come from the board's ``hwmon`` driver through one background sampler shared by every
request and every SSE subscriber, run in the threadpool: sensor reads go over I2C/SMBus to a
super-I/O or BMC and can stall, which must not freeze the daemon. With no driver the endpoints answer
404 and the profile says ``"hwmon": 0``. Config ``[plugins.hwmon]``: ``interval_seconds`` (default 2).
"""
from portald.hookspecs import hookimpl

from . import routes


def readings(ctx):
    """The shared sampler of this daemon run, or None when no driver probed true."""
    driver = ctx.driver("hwmon")
    if driver is None:
        return None
    interval = float(ctx.config.get("interval_seconds", 2.0))
    return ctx.memo("sampler", lambda: ctx.sampler("readings", driver.read, interval=interval, in_thread=True))


@hookimpl
def portald_startup(ctx):
    if ctx.driver("hwmon") is None:
        ctx.set_absent("no hardware monitor driver found sensors")


@hookimpl
def portald_blueprints(ctx):
    return [routes.blueprint(ctx, lambda: readings(ctx))]


@hookimpl
def portald_profile(ctx):
    return {"hwmon": 1 if ctx.driver("hwmon") is not None else 0}


@hookimpl
def portald_event_sources(ctx):
    sampler = readings(ctx)
    return {"hwmon": routes.event_source(sampler)} if sampler else None
