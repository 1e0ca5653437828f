"""The ``services`` driver interface: the machine's services, their state, and control of them."""
from __future__ import annotations

from typing import Literal, Protocol

from portald.drivers import Driver


class ServiceEntry(Protocol):
    unit: str  # the unit name as the OS knows it, e.g. "ssh.service"
    description: str  # a one-line title ("" when not known without loading the unit)
    status: str  # "running", "stopped", "disabled" or "unknown"


class ServicesDriver(Driver, Protocol):
    """Lists and controls the OS's services (``/platform/api/service*``).

    Unit names reach the driver already checked by ``unit_names`` (``<name>.service``, no path, no
    template). Errors: ``portald.drivers.NotFound`` for a unit the OS does not know (404 in the API),
    ``portald.drivers.DriverError`` for anything refused or failed, with a message meant for the
    client (422 ``{"errors": {"Service": ...}}``). A driver may set ``absent_reason`` when its probe
    finds nothing ("no systemd on ..."); it is shown in ``/platform/api/plugins``.
    """

    def services(self) -> list[ServiceEntry]:
        """Every service, in any order (the plugin sorts)."""
        ...

    def status(self, unit: str) -> str:
        """One service's status, as ``ServiceEntry.status``."""
        ...

    def control(self, unit: str, action: Literal["start", "stop", "restart"]) -> None:
        """Start, stop or restart a service and return when its job has ended (bounded by the
        driver's own timeout); raise ``DriverError`` when the job failed."""
        ...
