"""Disks: identity, mounted partitions with usage, and S.M.A.R.T. (``/platform/api/perif/disk*``, the
``diskdrives`` event, profile key ``perif:disk``).

The driver interface (capability ``"disk"``), met by ``linux.disk`` and ``sim.disk``:

* ``name``; ``probe() -> bool``: true when there is at least one disk;
* ``disks() -> list[dict]``: each disk as the spec shows it, without ``smartAttributes``: ``name,
  sizeBytes, physicalBlockSizeBytes, removable, vendor, model, serialNumber, firmwareRevision,
  mediaType, partitions[{mountPoint, sizeBytes, freeBytes, usedBytes, usedPercent, readOnly}]``.
  Cheap (sysfs, mount table, statvfs): called by the sampler every ``interval_seconds``;
* ``smart(name) -> list[dict] | None``: the disk's ``smartAttributes`` entries ``{id, name,
  statusFlags, value, worst, threshold, rawData[6 ints]}``, ``[]`` when it has none, None when it
  cannot be asked now (keep the last value). Slow (smartctl): called only by the S.M.A.R.T. cache's
  background greenlet, every ``smart_interval_seconds``, never inside a request.

Both parts run only while someone reads (requests, ``GET /perif/disk`` streams, ``diskdrives``
subscribers). With no driver the endpoints answer 404 and the profile says ``"perif:disk": 0``.

Config ``[plugins.disk]``: ``interval_seconds`` (5), ``smart_interval_seconds`` (300); the Linux driver
also reads ``smartctl`` (``["smartctl"]``), ``smart_timeout_seconds`` (20), ``rootfs`` (``"/"``) and
``include_virtual`` (false) from this section.
"""
from portald.hookspecs import hookimpl

from . import routes
from .smart_cache import SmartCache


def _seconds(ctx, key: str, default: float) -> float:
    value = ctx.config.get(key, default)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    ctx.log.warning("[plugins.disk] %s = %r is not a positive number; using %g", key, value, default)
    return default


def disks(ctx) -> routes.Disks | None:
    """The disks of this daemon run (one sampler, one S.M.A.R.T. cache), or None without a driver."""
    driver = ctx.driver("disk")
    if driver is None:
        return None

    def build() -> routes.Disks:
        # not in_thread: sysfs reads and statvfs of local filesystems answer from kernel memory
        # in the threadpool: statvfs of a dead network mount blocks, sysfs reads can stall on I2C
        sampler = ctx.sampler("disks", driver.disks, interval=_seconds(ctx, "interval_seconds", 5.0),
                              in_thread=True)
        return routes.Disks(sampler, SmartCache(driver.smart, _seconds(ctx, "smart_interval_seconds", 300.0)))

    return ctx.memo("disks", build)


@hookimpl
def portald_startup(ctx):
    if ctx.driver("disk") is None:
        ctx.set_absent("no disk driver found a disk")


@hookimpl
def portald_blueprints(ctx):
    return [routes.blueprint(ctx, lambda: disks(ctx))]


@hookimpl
def portald_profile(ctx):
    return {"perif:disk": 1 if ctx.driver("disk") is not None else 0}


@hookimpl
def portald_event_sources(ctx):
    found = disks(ctx)
    return {"diskdrives": found} if found else None


@hookimpl
def portald_shutdown(ctx):
    found = disks(ctx)
    if found is not None:
        found.smart.stop()
