"""ETP: the device's identity and two 128-byte user-data areas with a password lock
(``/platform/api/etp/*``; profile keys ``etp`` and ``etp:devicedata``).

Device data comes from the ``board`` driver's DMI fields (see ``routes.DEVICE_FIELDS``). User data lives
in an EEPROM reached through the board's ``etp`` driver; the byte layout that makes every write atomic
is in ``layout``, the logic on top in ``store``. With no ``etp`` driver the user-data endpoints answer
404 and ``etp`` is 0; with no board identity device data is an empty 204 and ``etp:devicedata`` is 0.

An ``etp`` driver is a plain byte store, no Flask:

* ``name``, ``probe() -> bool`` (true when the configured EEPROM answers);
* ``size``: the EEPROM's size in bytes (one too small for the layout, see ``layout``, is not used);
* ``page_size``: the chip's page size in bytes (16 on a 24c04), which the layout aligns its records to;
* ``read(offset, length) -> bytes``;
* ``write(offset, data)``: returns once the bytes are committed; a crash or power cut during the call
  may leave each page of the range old or new, and the page being written undefined (the layout
  gives every record pages of its own, so that costs only the record being written);
* both raise ``OSError`` on I/O failure (or ``portald.drivers.DriverError`` with a message for the
  client); both block, and are called from a worker thread, one at a time.

Config ``[plugins.etp]`` is read by the board drivers, not here: ``eeprom`` (the EEPROM's sysfs file,
relative to the sysfs root), or ``i2c_bus`` + ``i2c_address`` for a chip no kernel driver is bound to;
``size`` (512), ``page_size`` (16), ``write_cycle_ms`` (5). Nothing is ever probed on its own: an EEPROM
is written only when configured, since the first EEPROM found on a bus may be a DIMM's SPD.
"""
from __future__ import annotations

from gevent.lock import Semaphore

from portald.hookspecs import hookimpl

from . import layout, routes
from .store import UserDataStore


def _device(ctx):
    device = ctx.driver("etp")
    return device if device is not None and device.size >= layout.Layout(device.page_size).used else None


def _store(ctx) -> UserDataStore | None:
    device = _device(ctx)
    return None if device is None else ctx.memo("store", lambda: UserDataStore(device))


@hookimpl
def portald_startup(ctx):
    device = ctx.driver("etp")
    if device is not None and _device(ctx) is None:
        ctx.log.error("ETP EEPROM %s holds %d bytes, the user data needs %d: not used",
                      device.name, device.size, layout.Layout(device.page_size).used)
    if _device(ctx) is None and ctx.driver("board") is None:
        ctx.set_absent("no ETP EEPROM configured and no board identity")


@hookimpl
def portald_blueprints(ctx):
    return [routes.blueprint(ctx, lambda: _store(ctx), ctx.memo("io_lock", Semaphore))]


@hookimpl
def portald_profile(ctx):
    return {"etp": int(_device(ctx) is not None), "etp:devicedata": int(ctx.driver("board") is not None)}
