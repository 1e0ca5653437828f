"""Hardware monitor: temperatures, voltages, currents and fan speeds (``/platform/api/hwmon*``, the
``hwmon`` event, profile key ``hwmon``).

Readings come from the board's ``hwmon`` driver (``interface.HwmonDriver``) through one background
sampler shared by every request, every SSE subscriber and ``GET /metrics`` (``prometheus``). With no
driver the endpoints answer 404 and the profile says ``"hwmon": 0``. Config ``[plugins.hwmon]``:
``interval_seconds`` (default 2).
"""
from pydantic import Field

from portald import events
from portald.capability import Capability
from portald.settings import Settings as _Settings

from . import prometheus, routes
from .interface import HwmonDriver


class Settings(_Settings):
    interval_seconds: float = Field(2.0, gt=0, le=3600)


def readings(ctx):
    """The shared sampler of this daemon run, or None when no driver probed true (asked on every
    request, so everything but one memo lookup happens once)."""
    def build():
        driver = ctx.driver("hwmon")
        if driver is None:
            return None
        return ctx.sampler("readings", driver.read, interval=CAPABILITY.settings(ctx).interval_seconds)

    return ctx.memo("sampler", build)


def event_source(ctx):
    """The ``hwmon`` event: the same JSON as ``GET /platform/api/hwmon``."""
    sampler = readings(ctx)
    return events.SnapshotSource(lambda: routes.snapshot(sampler)) if sampler else None


CAPABILITY = Capability(
    "hwmon", HwmonDriver, settings=Settings,
    absent="no hardware monitor driver found sensors",
    blueprints=lambda ctx: routes.blueprint(lambda: readings(ctx)),
    profile=lambda ctx, driver: {"hwmon": 1 if driver is not None else 0},
    events={"hwmon": event_source},
    metrics=lambda ctx, driver: prometheus.families(readings(ctx)),
)
CAPABILITY.export(globals())
