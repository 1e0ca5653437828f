"""The generic Linux watchdog driver (capability ``wdt``): sysfs for what can be read without arming,
the ``watchdogN`` character device (``wdt_ioctl``) for arming, petting and disarming.

Which device: the lowest-numbered ``<sysfs_root>/class/watchdog/watchdogN`` whose node
``<dev_root>/watchdogN`` exists, or ``[plugins.linux.wdt] device = "watchdogN"``. The legacy
``watchdog`` node is the same device as ``watchdog0`` and is not used (opening both gives EBUSY).

Reading never opens the device (opening arms it). ``info()`` reads the class attributes that exist with
CONFIG_WATCHDOG_SYSFS: ``identity``, ``timeout``, ``state`` (active/inactive), ``nowayout``, and, since
Linux 6.x, ``min_timeout``/``max_timeout``. Missing ones fall back: type ``watchdogN``, range 1..65535
(softdog's range; the core itself allows up to UINT_MAX/1000 s, and a value the hardware refuses comes
back as EINVAL from SETTIMEOUT), and ``max_timeout`` 0, which the core uses for "no limit", reads as 65535.

While disarmed the timeout cannot be set (sysfs ``timeout`` is read-only and the ioctl needs an open,
i.e. armed, device): ``set_timeout`` remembers it and ``enable`` applies it. While armed, the timeout is
what the driver read back with GETTIMEOUT after SETTIMEOUT.

The watchdog core answers most ioctls from memory or with one register write, but a watchdog on an
I2C/SMBus chip (a PMIC, a super-I/O, a BMC) or an EC can stall on its bus: ``blocking = True`` has the
core run every call in the threadpool under the driver timeout, so a stalled keepalive fails (and is
retried) without freezing the event loop. Errors are ``OSError`` with a readable ``strerror``; a device found busy (EBUSY: another process, such
as systemd with RuntimeWatchdogSec, holds it) or one whose module was loaded with ``nowayout=1`` (it can
never be disarmed) is reported, never hidden.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import re
from pathlib import Path
from typing import Callable

from pydantic import Field

from portald.settings import Settings as _Settings

from .sysfs import read_attr_or_none as _read
from .sysfs import read_int_or_none as _read_int
from .wdt_ioctl import WDIOF_SETTIMEOUT, WDIOS_DISABLECARD, WDIOS_ENABLECARD, WatchdogDevice

log = logging.getLogger(__name__)

CAPABILITY = "wdt"
FALLBACK_MIN, FALLBACK_MAX = 1, 65535
_NAME = re.compile(r"watchdog(\d+)")


class LinuxWatchdogDriver:
    name = "linux.wdt"
    blocking = True  # see the module docstring

    def __init__(self, class_dir: Path, dev_dir: Path, device: str | None = None,
                 ioctl: Callable[[int, int, bytes], bytes] = fcntl.ioctl):
        self.class_dir, self.dev_dir, self.ioctl = Path(class_dir), Path(dev_dir), ioctl
        self.device = device or self._first()
        self._dev: WatchdogDevice | None = None
        self._identity: str | None = None  # from GETSUPPORT once armed
        self._timeout: int | None = None  # read back from the driver while armed
        self._pending: int | None = None  # asked for while disarmed

    def _first(self) -> str | None:
        try:
            names = [p.name for p in self.class_dir.iterdir() if _NAME.fullmatch(p.name)]
        except OSError:
            return None
        for name in sorted(names, key=lambda n: int(_NAME.fullmatch(n)[1])):
            if (self.dev_dir / name).exists():
                return name
        return None

    @property
    def _attrs(self) -> Path:
        return self.class_dir / str(self.device)

    def probe(self) -> bool:
        found = self.device is not None and self._attrs.is_dir() and (self.dev_dir / self.device).exists()
        if not found:
            log.debug("no watchdog device under %s with a node in %s", self.class_dir, self.dev_dir)
        return found

    @property
    def armed(self) -> bool:
        """True while this driver holds the device open (and so must pet it)."""
        return self._dev is not None

    def info(self) -> dict:
        minimum = _read_int(self._attrs / "min_timeout") or FALLBACK_MIN
        maximum = _read_int(self._attrs / "max_timeout") or FALLBACK_MAX
        if self.armed:
            timeout = self._timeout
        else:
            timeout = self._pending if self._pending is not None else _read_int(self._attrs / "timeout")
        return {
            "type": self._identity or _read(self._attrs / "identity") or str(self.device),
            "enabled": self.armed or _read(self._attrs / "state") == "active",
            "timeout": timeout or 0,
            "min": max(1, minimum),
            "max": maximum,
        }

    def enable(self, seconds: int | None = None) -> None:
        fresh = self._dev is None
        dev = self._dev or WatchdogDevice(self.dev_dir / str(self.device), self.ioctl)
        if fresh:
            try:
                dev.open()
            except OSError as exc:
                if exc.errno == errno.EBUSY:
                    raise OSError(errno.EBUSY, f"{self.device} is held open by another process "
                                               "(e.g. systemd's RuntimeWatchdogSec)") from None
                raise
        try:
            support = dev.get_support()
            wanted = seconds if seconds is not None else self._pending
            if wanted is not None:
                self._apply_timeout(dev, support.options, wanted)
            # The core starts the timer on open; ENABLECARD restarts one stopped with DISABLECARD.
            dev.set_options(WDIOS_ENABLECARD)
            dev.keepalive()
            timeout = dev.get_timeout()
        except OSError:
            if fresh:
                # We armed it by opening: undo that, or the board resets with nobody petting it.
                dev.magic_close()
            raise
        self._dev, self._identity, self._timeout, self._pending = dev, support.identity, timeout, None

    @staticmethod
    def _apply_timeout(dev: WatchdogDevice, options: int, seconds: int) -> None:
        if not options & WDIOF_SETTIMEOUT:
            if dev.get_timeout() == seconds:
                return
            raise OSError(errno.EOPNOTSUPP, "this watchdog's timeout cannot be changed")
        dev.set_timeout(seconds)

    def set_timeout(self, seconds: int) -> None:
        if self._dev is None:
            self._pending = seconds
            return
        self._apply_timeout(self._dev, self._dev.get_support().options, seconds)
        self._timeout = self._dev.get_timeout()

    def keepalive(self) -> None:
        if self._dev is not None:
            self._dev.keepalive()

    def disable(self) -> None:
        if _read(self._attrs / "nowayout") == "1":
            raise OSError(errno.EBUSY, f"{self.device} was loaded with nowayout=1 and can never be disarmed")
        if self._dev is None:
            if _read(self._attrs / "state") != "active":
                return
            # Armed by someone else (firmware, a previous run that did not disarm): take it over to
            # stop it. Opening an already-running watchdog does not change anything else.
            self.enable()
        # If DISABLECARD fails we keep the device open, so the caller can keep petting it: closing it
        # with 'V' is not proof that it stopped.
        self._dev.set_options(WDIOS_DISABLECARD)
        dev, self._dev, self._pending = self._dev, None, self._timeout
        dev.magic_close()

    def release(self) -> None:
        """Let go without disarming (shutdown with ``disarm_on_shutdown = false``)."""
        if self._dev is not None:
            dev, self._dev, self._pending = self._dev, None, self._timeout
            dev.close()


class Settings(_Settings):
    """``[plugins.linux.wdt]``: ``device``, the watchdog to use (default: the lowest-numbered
    ``watchdogN`` that has a ``<dev_root>/watchdogN`` node)."""

    device: str | None = Field(None, pattern=rf"^{_NAME.pattern}$")


def create_driver(ctx, settings: Settings):
    return LinuxWatchdogDriver(ctx.paths.sysfs("class", "watchdog"), ctx.paths.dev(), settings.device)
