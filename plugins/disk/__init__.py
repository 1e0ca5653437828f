"""Disks: identity, mounted partitions with usage, and S.M.A.R.T. (``/platform/api/perif/disk*``, the
``diskdrives`` event, profile key ``perif:disk``).

The board's ``disk`` driver (``interface.DiskDriver``) lists the disks; on Linux from sysfs, the mount
table and smartctl, set up in ``[plugins.linux.disk]``. Its ``disks()`` is read by one background
sampler every ``interval_seconds``; its S.M.A.R.T. reader by the S.M.A.R.T. cache (``smart_cache``)
every ``smart_interval_seconds``, never inside a request. Both run only while someone reads
(requests, ``GET /perif/disk`` streams, ``diskdrives`` subscribers). With no driver the endpoints
answer 404 and the profile says ``"perif:disk": 0``. ``GET /metrics`` serves the sampled usage
and the driver's I/O counters read at the scrape (``prometheus``).

Settings ``[plugins.disk]``: ``interval_seconds`` (5), ``smart_interval_seconds`` (300).
"""
from pydantic import Field

from portald.capability import Capability
from portald.settings import Settings as _Settings

from . import prometheus, routes
from .interface import DiskDriver
from .smart_cache import SmartCache


class Settings(_Settings):
    interval_seconds: float = Field(5.0, gt=0, le=3600)
    smart_interval_seconds: float = Field(300.0, gt=0, le=86400)


def disks(ctx) -> routes.Disks | None:
    """The disks of this daemon run (one sampler, one S.M.A.R.T. cache), or None without a driver.
    Also the ``diskdrives`` event source."""
    driver = ctx.driver("disk")
    if driver is None:
        return None

    def build() -> routes.Disks:
        settings = CAPABILITY.settings(ctx)
        # driver.disks() may block (statvfs of a dead network mount, sysfs behind I2C): a driver for
        # which it can sets ``blocking = True`` and the core runs it in the threadpool
        sampler = ctx.sampler("disks", driver.disks, interval=settings.interval_seconds)
        return routes.Disks(sampler, SmartCache(driver.smart.attributes, settings.smart_interval_seconds))

    return ctx.memo("disks", build)


def shutdown(ctx) -> None:
    found = disks(ctx)
    if found is not None:
        found.smart.stop()


CAPABILITY = Capability(
    "disk", DiskDriver, settings=Settings,
    absent="no disk driver found a disk",
    blueprints=lambda ctx: routes.blueprint(lambda: disks(ctx)),
    profile=lambda ctx, driver: {"perif:disk": 1 if driver is not None else 0},
    events={"diskdrives": disks},
    shutdown=shutdown,
    metrics=lambda ctx, driver: prometheus.families(disks(ctx), driver),
)
CAPABILITY.export(globals())
