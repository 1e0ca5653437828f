"""The ``gpio`` driver interface: general-purpose I/O pins addressed by a 0-based pin index."""
from __future__ import annotations

from typing import Literal, Protocol, TypedDict

from portald.drivers import Driver

Direction = Literal[0, 1]  # the spec's encoding: 0 output, 1 input
Level = Literal[0, 1]  # 0 low, 1 high; logical (an active-low pin reads 1 while its wire is low)


class PinState(TypedDict):
    dir: Direction
    level: Level


class GpioDriver(Driver, Protocol):
    """Reads and drives the board's GPIO pins (``/platform/api/perif/gpio/*``).

    ``probe()`` is true when the configured pins can be used (it may take hold of them: a GPIO
    character device keeps an output driven only while its lines are requested). The plugin checks
    every pin index against ``count()`` before calling the driver, and refuses to set the level of an
    input. Errors: ``OSError`` for anything the hardware refuses or cannot read; answered 422
    ``{"errors": {"GPIO": ...}}``.
    """

    __optional__ = ("close",)

    def count(self) -> int:
        """How many pins; fixed for the daemon run (from ``probe()`` on), so an index always means the
        same pin."""
        ...

    def read(self, pin: int) -> PinState:
        """Direction and level of ``pin``: an output reads back the level it drives, an input its wire."""
        ...

    def set_dir(self, pin: int, direction: Direction) -> None:
        """Make ``pin`` an output or an input. A pin switched to output starts low; setting the direction
        a pin already has changes nothing (an output keeps driving its level, no glitch)."""
        ...

    def set_level(self, pin: int, level: Level) -> None:
        """Drive output ``pin`` low or high (outputs only: the plugin never calls this for an input)."""
        ...

    def close(self) -> None:
        """Optional: release the hardware when the daemon stops."""
        ...
