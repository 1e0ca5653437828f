"""The ``led`` driver interface: on/off LEDs addressed by a 0-based index."""
from __future__ import annotations

from typing import Protocol

from portald.drivers import Driver


class LedDriver(Driver, Protocol):
    """Reads and switches the board's LEDs (``/platform/api/perif/led*``).

    ``probe()`` is true when there is at least one LED. The plugin checks every index against
    ``count()`` before calling ``get`` or ``set``. Errors: ``OSError`` for anything the hardware refuses
    or cannot read; answered 422 ``{"errors": {"LED": ...}}``.
    """

    def count(self) -> int:
        """How many LEDs; fixed for the daemon run (from ``probe()`` on), so an index always means the
        same LED."""
        ...

    def get(self, index: int) -> bool:
        """True when LED ``index`` (``0 <= index < count()``) is logically high (on)."""
        ...

    def set(self, index: int, on: bool) -> None:
        """Switch LED ``index`` on or off; the LED shows the new state when this returns (a blink
        trigger or firmware pattern driving it is stopped first, or it would undo the change)."""
        ...
