"""The ``devmgr`` driver interface: the devices of the machine, in the spec's shape."""
from __future__ import annotations

from typing import Protocol

from portald.drivers import Driver


class DevmgrDriver(Driver, Protocol):
    """Lists the hardware the OS knows (``GET /platform/api/devmgr``).

    ``probe()`` is true when there is a device tree to read (for sysfs: ``bus/*/devices`` or
    ``class/*`` folders under the sysfs root).
    """

    def read(self) -> list[dict]:
        """One dict per device: ``class`` (the source, upper case: ACPI, PLATFORM, PCI, USB, STORAGE,
        NET, INPUT, SOUND or a board's own), ``instancePath`` (unique), ``name`` (human-readable),
        ``vendorID``/``deviceID`` (4 upper-case hex digits, PCI and USB only) and ``status``
        (``"running"`` when a driver is bound, else ``"stopped"``). Read per call, so hot-plugged
        devices show at once. Raises ``OSError`` when the tree is there but cannot be read (answered
        422 ``{"errors": {"DevMgr": ...}}``); an empty list means "no data" (404)."""
        ...
