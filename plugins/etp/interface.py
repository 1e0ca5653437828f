"""The ``etp`` driver interface: the EEPROM that holds the ETP user data, as a plain byte store."""
from __future__ import annotations

from typing import Protocol

from portald.drivers import Driver


class EtpDriver(Driver, Protocol):
    """Reads and writes the user-data EEPROM at byte offsets; the record layout on top (``layout``)
    and the lock (``store``) are the plugin's.

    ``probe()`` is true when the configured EEPROM answers. Nothing is ever probed on its own: a board
    offers this driver only for an EEPROM it was told about, since the first EEPROM found on a bus
    may be a DIMM's SPD, which must never be written.

    EEPROM I/O is slow (a 5 ms write cycle per page) and its bus can stall: a driver sets
    ``blocking = True`` and the core runs its calls in the threadpool under the driver timeout (the
    plugin runs one EEPROM operation at a time). Errors: ``OSError`` on I/O failure, or
    ``portald.drivers.DriverError`` with a message for the client; both answered 400
    ``{"errors": {"ETP": ...}}``.
    """

    size: int
    """The EEPROM's size in bytes (one too small for the layout is not used). A cheap attribute: no I/O."""

    page_size: int
    """The chip's page size in bytes (16 on a 24c04), which the layout aligns its records to."""

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset``; ``OSError`` for a range outside the chip or a short read."""
        ...

    def write(self, offset: int, data: bytes) -> None:
        """Returns once the bytes are committed. A crash or power cut during the call may leave each
        page of the range old or new, and the page being written undefined (the layout gives every
        record pages of its own, so that costs only the record being written)."""
        ...
