"""What every driver is, and the errors a driver raises.

``Driver`` is the base of every capability's driver interface (``plugins/<capability>/interface.py``):
a ``name`` (``"<board>.<capability>"``, e.g. ``"linux.hwmon"``, shown in ``/platform/api/plugins`` and
matched by the ``[drivers]`` config table) and ``probe()``. A driver that declares ``blocking = True``
(its calls go to sysfs over I2C, ioctls, serial links, C libraries, big /proc walks) is wrapped by the
core in ``BlockingDriver``: that is the one way a blocking call is made off the event loop.

The errors are shared by every board so capability plugins can catch them whichever driver (generic,
sim or an OEM's) is in use. Drivers have no Flask in them: these carry a message meant for the client,
and the capability's routes turn them into the spec's shape for their area. ``OSError`` means the
hardware refused or failed; a capability's interface says which of these its driver raises."""
from __future__ import annotations

from typing import Protocol


class Driver(Protocol):
    """Base of every capability's driver interface."""

    name: str
    """``"<board>.<capability>"``, unique among the drivers of one capability."""

    def probe(self) -> bool:
        """True when this driver found its hardware (cheap; called once at start-up). Absence is
        False, never an exception; an exception is reported as a broken driver and the next is tried."""
        ...


class DriverError(Exception):
    """The hardware or service refused or failed; ``str(exc)`` is safe to show the client."""


class NotFound(DriverError):
    """The named thing (a unit, a pin, a device) does not exist on this machine."""


class BlockingDriver:
    """Runs every method of a driver whose calls can block — sysfs attributes served over I2C (LED
    expanders, super-I/O chips, power controllers), ioctls — in gevent's threadpool, one call at a
    time, each bounded by ``timeout``. A wedged bus then costs one request a 422 instead of freezing
    the whole daemon (and with it the watchdog's keep-alive).

    A call that does not return in time raises ``OSError(ETIMEDOUT)``; until that stuck call returns,
    further calls fail at once with ``OSError(EBUSY)`` instead of taking another thread. Plain
    attributes (``name``, properties) are read directly. The core wraps every driver that sets
    ``blocking = True``, with the daemon's ``driver_timeout_seconds`` unless the driver sets its own
    ``timeout_seconds`` (a screenshot of a big display, a slow EEPROM).

    A blocking driver never starts commands from its methods: they would run in a pool thread, and in
    the daemon (gevent patches ``os.close`` to defer a close to the calling thread's hub) a pool thread
    that has used a socket — pyroute2's netlink, D-Bus — hangs the standard library's ``subprocess``
    on its never-closed exec pipe. Put the blocking part in a helper wrapped with ``ctx.blocking`` and
    run commands through ``ctx.runner`` on the event loop (``plugins/boards/linux/net_netlink.py``).
    For the same reason a helper that uses sockets takes a thread of its own
    (``ctx.blocking(helper, own_thread=True)``): in the shared pool, its thread would later run someone
    else's subprocess — python-pam loading libpam runs ``ldconfig`` — and hang that (an OS-account
    login never answered on a Linux board whose netlink driver had probed).
    """

    def __init__(self, driver, timeout: float = 5.0, pool=None):
        import gevent.lock

        self._driver = driver
        self._timeout = float(getattr(driver, "timeout_seconds", None) or timeout)
        self._lock = gevent.lock.Semaphore()
        self._stuck = None
        self._pool = pool  # None: the hub's threadpool, shared with every other blocking call

    @property
    def wrapped(self):
        return self._driver

    def __getattr__(self, attr: str):
        value = getattr(self._driver, attr)
        if not callable(value):
            return value

        def call(*args, **kwargs):
            import errno

            import gevent

            with self._lock:
                if self._stuck is not None and not self._stuck.ready():
                    raise OSError(errno.EBUSY, f"{self.name} is still not answering an earlier request")
                pool = self._pool if self._pool is not None else gevent.get_hub().threadpool  # (an idle pool is falsy)
                result = pool.spawn(value, *args, **kwargs)
                try:
                    return result.get(timeout=self._timeout)
                except gevent.Timeout:
                    self._stuck = result
                    raise OSError(errno.ETIMEDOUT, f"{self.name} did not answer within {self._timeout:g} s") from None

        return call
