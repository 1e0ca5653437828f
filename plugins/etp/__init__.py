"""ETP: the device's identity and two 128-byte user-data areas with a password lock
(``/platform/api/etp/*``; profile keys ``etp`` and ``etp:devicedata``).

Device data comes from the ``board`` driver's DMI fields (see ``routes.DEVICE_FIELDS``). User data lives
in an EEPROM reached through the board's ``etp`` driver (``interface.EtpDriver``; on Linux configured in
``[plugins.linux.etp]``); the byte layout that makes every write atomic is in ``layout``, the logic on
top in ``store``. With no ``etp`` driver the user-data endpoints answer 404 and ``etp`` is 0; with no
board identity device data is an empty 204 and ``etp:devicedata`` is 0; with neither the plugin is
absent.

Off the event loop: the driver's EEPROM I/O goes to the threadpool through the core (the driver sets
``blocking = True``); the lock password's scrypt hash (~50 ms of CPU) goes there through the same
wrapper (``ctx.blocking``), put around ``store.LockHash``.
"""
from __future__ import annotations

from gevent.lock import Semaphore

from portald.capability import Capability

from . import layout, routes
from .interface import EtpDriver
from .store import LockHash, UserDataStore


def _device(ctx):
    device = ctx.driver("etp")
    return device if device is not None and device.size >= layout.Layout(device.page_size).used else None


def _store(ctx) -> UserDataStore | None:
    device = _device(ctx)
    if device is None:
        return None
    return ctx.memo("store", lambda: UserDataStore(device, ctx.blocking(LockHash()).digest))


def startup(ctx) -> None:
    device = ctx.driver("etp")
    if device is not None and _device(ctx) is None:
        ctx.log.error("ETP EEPROM %s holds %d bytes, the user data needs %d: not used",
                      device.name, device.size, layout.Layout(device.page_size).used)
    if _device(ctx) is None and ctx.driver("board") is None:
        ctx.set_absent(ctx.absent_reason("etp") or "no ETP EEPROM configured and no board identity")


CAPABILITY = Capability(
    "etp", EtpDriver,
    # user data and device data are each optional: absence is decided in startup()
    driver_required=False,
    blueprints=lambda ctx: routes.blueprint(ctx, lambda: _store(ctx), ctx.memo("io_lock", Semaphore)),
    profile=lambda ctx, driver: {"etp": int(_device(ctx) is not None),
                                 "etp:devicedata": int(ctx.driver("board") is not None)},
    startup=startup,
)
CAPABILITY.export(globals())
