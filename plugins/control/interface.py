"""The ``control`` driver interface: reboot, shut down, and the display's power."""
from __future__ import annotations

from typing import Protocol

from portald.drivers import Driver


class ControlDriver(Driver, Protocol):
    """Power of the machine and of its display (``/platform/api/control/*``).

    ``probe()`` is true when the driver can at least reboot and shut down (the display may come and go:
    X often starts after the daemon, so display support is asked on every request). Errors: ``OSError``
    or ``portald.drivers.DriverError`` for what the OS or the hardware refused; answered 422
    ``{"errors": {"Control": ...}}``. The plugin calls ``reboot``/``shutdown`` after its answer has been
    sent, and logs what they raise.
    """

    def reboot(self) -> None:
        """Start rebooting the machine; returns once the request was handed to the OS (the machine
        goes down afterwards). Raise when the OS refused it."""
        ...

    def shutdown(self) -> None:
        """Start powering the machine off, as ``reboot``."""
        ...

    def display_supported(self) -> bool:
        """True when ``set_display`` can work now (DPMS on the X display, or a backlight's
        ``bl_power``); False, never an exception, when not."""
        ...

    def set_display(self, on: bool) -> None:
        """Turn the display on (True) or off (False); returns once it has taken effect. Raise
        ``DriverError`` when there is no way to do it or the display did not follow."""
        ...
