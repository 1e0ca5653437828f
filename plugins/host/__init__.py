"""Host information, display count and screenshots (``/platform/api/host/*``, profile keys ``host:info``
and ``host:display:count``).

Three capabilities, each with its Protocol in ``interface.py``: ``host`` (name, boot and identity facts:
``HostDriver``), ``display`` (count and capture the monitors: ``DisplayDriver``) and ``board`` (the DMI
identity: ``BoardDriver``, also read by the ``system`` and ``etp`` plugins). The OS's name and
architecture come from the ``system`` driver. What is the plugin's own: the boot counter (``boot.py``,
by the driver's boot id, in the plugin's state), asking the docker version once per daemon run, the
spec's field names (``info.py``) and the routes (``routes.py``).

Host info is read per request (a handful of small files). The display count is sampled in the
background (it is also a profile key, which must be cheap). The drivers' settings are theirs
(``[plugins.linux.host]``: machine-id and image-version files, docker command; ``[plugins.linux.display]``:
the X display, its timeout). Config ``[plugins.host]``: ``display_interval_seconds`` (default 2).

Profile: ``host:info`` is 1 with a host driver; ``host:display:count`` is the number of displays (the
spec's example shows 1 on a one-monitor machine; a client reading it as a support flag gets
"supported" exactly when there is a display to capture).
"""
from __future__ import annotations

from pydantic import Field

from portald.capability import Capability
from portald.drivers import DriverError
from portald.sampler import SampleFailed
from portald.settings import Settings as _Settings

from . import boot, info, routes
from .interface import BoardDriver, DisplayDriver, HostDriver


class Settings(_Settings):
    display_interval_seconds: float = Field(2.0, gt=0, le=3600)


def boot_count(ctx) -> int:
    """This boot's number, counted once per daemon run (at start-up)."""
    def count() -> int:
        driver = ctx.driver("host")
        return boot.record_boot(ctx.state, info.fact(driver.boot_id, "")) if driver is not None else 0
    return ctx.memo("boot_count", count)


def host_info(ctx) -> dict:
    host = ctx.require("host")
    docker = ctx.memo("docker", lambda: info.fact(host.docker_version, ""))
    return info.collect(host, ctx.driver("system"), ctx.driver("board"), boot_count=boot_count(ctx),
                        docker=docker)


def display_count(ctx) -> int:
    driver = ctx.driver("display")
    if driver is None:
        return 0
    interval = CAPABILITY.settings(ctx).display_interval_seconds
    sampler = ctx.memo("displays", lambda: ctx.sampler("displays", driver.count, interval=interval))
    try:
        return sampler.latest()
    except SampleFailed as exc:  # the display did not answer in time; the sampler has logged it
        ctx.log.debug("display count unavailable: %s", exc)
        return 0


def screenshot(ctx, index: int) -> bytes:
    driver = ctx.driver("display")
    if driver is None:
        raise DriverError(ctx.absent_reason("display") or "no display to capture")
    return driver.screenshot(index)


CAPABILITY = Capability(
    "host", HostDriver, settings=Settings,
    absent="no host driver",
    blueprints=lambda ctx: routes.blueprint(lambda: host_info(ctx), lambda: display_count(ctx),
                                            lambda index: screenshot(ctx, index)),
    profile=lambda ctx, driver: {"host:info": int(driver is not None), "host:display:count": display_count(ctx)},
    startup=boot_count,
    also=(Capability("display", DisplayDriver), Capability("board", BoardDriver)),
)
CAPABILITY.export(globals())
