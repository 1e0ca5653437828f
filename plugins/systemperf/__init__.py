"""System performance: CPU description and per-CPU usage, memory figures (``/platform/api/systemperf*``)
and the ``systemperf`` event.

The board's ``systemperf`` driver (``interface.SystemperfDriver``) reads the figures; one background
sampler per daemon run asks it every ``interval_seconds`` while someone reads, and requests and the event
stream serve its latest sample. The profile says ``"systemperf": 1`` with a driver (on Linux: when
``<procfs_root>/cpuinfo`` lists a processor), else 0 and the endpoints answer 404.

A sample needs the CPU description; without it the endpoints answer 404 "no available data". Usage
that cannot be read is an empty list, and memory figures that cannot be read make ``/memory`` (and the
whole ``/systemperf``) answer 404 while ``/cpu`` is still served: a machine tree that holds only
``cpuinfo`` is described, not invented.
``GET /metrics`` serves the same sample, and the driver's cumulative CPU times read at the scrape
(``prometheus``). Config ``[plugins.systemperf]``:
``interval_seconds`` (default 2).
"""
from pydantic import Field

from portald.capability import Capability
from portald.events import SnapshotSource
from portald.settings import Settings as _Settings

from . import prometheus, routes
from .interface import SystemperfDriver


class Settings(_Settings):
    interval_seconds: float = Field(2.0, gt=0, le=3600)


def _part(ctx, read, default):
    try:
        return read()
    except OSError as exc:
        ctx.log.debug("%s unreadable: %s", read.__name__, exc)
        return default


def sampler(ctx):
    """The shared sampler of this daemon run, or None without a driver."""
    driver = ctx.driver("systemperf")
    if driver is None:
        return None

    def collect() -> dict:
        return {"cpu": {"info": driver.cpu_info(), "usage": _part(ctx, driver.usage, [])},
                "memory": _part(ctx, driver.memory, None)}

    interval = CAPABILITY.settings(ctx).interval_seconds
    return ctx.memo("sampler", lambda: ctx.sampler("sample", collect, interval=interval))


def event_source(ctx):
    """The ``systemperf`` event: the same JSON as ``GET /platform/api/systemperf``."""
    found = sampler(ctx)
    return SnapshotSource(lambda: routes.whole(found)) if found else None


CAPABILITY = Capability(
    "systemperf", SystemperfDriver, settings=Settings,
    absent="no systemperf driver found CPU information",
    blueprints=lambda ctx: routes.blueprint(lambda: sampler(ctx)),
    profile=lambda ctx, driver: {"systemperf": int(driver is not None)},
    events={"systemperf": event_source},
    metrics=lambda ctx, driver: prometheus.families(sampler(ctx), driver),
)
CAPABILITY.export(globals())
