"""The ``wdt`` driver interface: one hardware watchdog, armed, petted and disarmed by this daemon."""
from __future__ import annotations

from typing import Protocol, TypedDict

from portald.drivers import Driver


class WatchdogInfo(TypedDict):
    type: str  # what the hardware calls itself, e.g. "iTCO_wdt", "EC Watchdog"
    enabled: bool  # counting down now, whoever armed it (firmware, systemd, this daemon)
    timeout: int  # seconds: the current timeout, or the one the next enable() applies
    min: int  # seconds, the shortest timeout the hardware takes (at least 1)
    max: int  # seconds, the longest


class WdtDriver(Driver, Protocol):
    """Arms, pets and disarms the board's watchdog (``/platform/api/perif/wdt``).

    Reading never arms it (on Linux, opening the device does, so ``info()`` reads sysfs only). While
    ``armed`` the plugin calls ``keepalive()`` every timeout/3 seconds from a greenlet: if the daemon's
    event loop hangs, the petting stops and the board resets. A driver whose calls can stall sets
    ``blocking = True``, so a stalled call costs a failed keepalive (logged, retried) instead of the
    event loop. Errors: ``OSError`` with a readable ``strerror`` (EBUSY: another process holds the
    device, or it can never be disarmed; EINVAL: a timeout the hardware refuses); answered 422
    ``{"errors": {"WDT": ...}}``.
    """

    armed: bool
    """True while this driver holds the watchdog armed, and so must pet it (a cheap attribute: no I/O)."""

    def info(self) -> WatchdogInfo:
        """The watchdog's type, state and timeouts; never arms it."""
        ...

    def enable(self, seconds: int | None = None) -> None:
        """Arm it with ``seconds`` (None keeps the current or pending timeout) and pet it once. A
        watchdog armed by someone else is taken over."""
        ...

    def set_timeout(self, seconds: int) -> None:
        """Applied at once while armed (the hardware may round it: ``info()`` says what it took), else
        kept for the next ``enable``."""
        ...

    def keepalive(self) -> None:
        """Pet it (nothing when not armed)."""
        ...

    def disable(self) -> None:
        """Disarm it cleanly (on Linux the magic close), or raise and stay armed — then the caller
        goes on petting it."""
        ...

    def release(self) -> None:
        """Stop using it WITHOUT disarming: it keeps counting down (a stop with ``disarm_on_shutdown``
        false)."""
        ...
