"""The ``services`` driver of the Windows board: the Windows services and their state, through psutil
(``win_service_iter`` / ``win_service_get``, the Service Control Manager underneath).

The API addresses services by systemd-style unit names (``<name>.service``; see the services plugin's
``unit_names``): a Windows service ``Spooler`` is the unit ``Spooler.service``, which the API shows as
``Spooler``. Services whose names hold characters systemd's grammar has not (``MSSQL$SQLEXPRESS``, a
space) are listed but cannot be addressed one by one.

Status, from the SCM's state and the service's start type: ``running``; ``disabled`` when it is not
running and its start type is disabled; ``stopped``; ``unknown`` for the pending states
(start/stop/pause/continue) and for ``paused`` (a stable state the spec's four do not cover).

Starting, stopping and restarting are not done: psutil has no call for them. ``control()`` raises
``DriverError`` saying so (answered 422); ``sc.exe`` or services.msc do it on the machine.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import psutil

from portald.drivers import DriverError, NotFound

CAPABILITY = "services"

SUFFIX = ".service"
NOT_SUPPORTED = "starting and stopping services is not supported on Windows (psutil cannot); use sc.exe or services.msc"


@dataclass(frozen=True)
class Service:
    unit: str  # "<Windows service name>.service"
    description: str  # the display name ("Print Spooler")
    status: str  # running, stopped, disabled or unknown


def status_of(state: str, start_type: str) -> str:
    """The spec's status for psutil's ``status()`` and ``start_type()`` of a Windows service."""
    if state == "running":
        return "running"
    if state == "stopped":
        return "disabled" if start_type == "disabled" else "stopped"
    return "unknown"


def windows_name(unit: str) -> str:
    """``Spooler.service`` -> ``Spooler``."""
    return unit[: -len(SUFFIX)] if unit.endswith(SUFFIX) else unit


class WindowsServicesDriver:
    name = "windows.services"
    blocking = True  # one SCM query per service

    def probe(self) -> bool:
        if sys.platform != "win32":
            return False
        try:
            next(iter(psutil.win_service_iter()), None)
        except (OSError, psutil.Error) as exc:
            self.absent_reason = f"the Service Control Manager did not answer: {exc}"
            return False
        return True

    def services(self) -> list[Service]:
        found = []
        for service in psutil.win_service_iter():
            try:
                found.append(Service(service.name() + SUFFIX, service.display_name(),
                                     status_of(service.status(), service.start_type())))
            except psutil.NoSuchProcess:  # deleted while listed
                continue
            except psutil.AccessDenied:
                found.append(Service(service.name() + SUFFIX, service.display_name(), "unknown"))
        return found

    def status(self, unit: str) -> str:
        try:
            service = psutil.win_service_get(windows_name(unit))
            return status_of(service.status(), service.start_type())
        except psutil.NoSuchProcess:
            raise NotFound(f"no service {windows_name(unit)}") from None
        except psutil.AccessDenied:
            raise DriverError(f"portald is not allowed to query the service {windows_name(unit)}") from None

    def control(self, unit: str, action: str) -> None:
        raise DriverError(NOT_SUPPORTED)


def create_driver(ctx, settings=None):
    return WindowsServicesDriver()
