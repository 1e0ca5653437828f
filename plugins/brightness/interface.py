"""The ``brightness`` driver interface: the display's backlight, one value in a range."""
from __future__ import annotations

from typing import Protocol, TypedDict

from portald.drivers import Driver


class Brightness(TypedDict):
    min: int  # the lowest value a client may set (a panel that goes dark at 0 says 1 here)
    max: int  # the highest value, in the hardware's own steps (no unit: not a percentage)
    value: int  # the value last set, min <= value <= max when set through this API


class BrightnessDriver(Driver, Protocol):
    """Reads and sets the brightness of the display (``/platform/api/perif/brightness``).

    ``probe()`` is true when there is a backlight to drive and its range can be read. Errors: ``OSError``
    for anything the hardware refuses or cannot read; answered 422 ``{"errors": {"Brightness": ...}}``.
    """

    def read(self) -> Brightness:
        """The supported range and the current value, read from the hardware on every call."""
        ...

    def write(self, value: int) -> None:
        """Set the value; the plugin has already checked it is within ``read()``'s range. Returns once
        the hardware has taken it."""
        ...
