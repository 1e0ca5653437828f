"""The driver interfaces of the ``host`` plugin: ``host`` (the machine's name, boot and identity facts),
``display`` (count and capture the displays) and ``board`` (the board's DMI/SMBIOS identity, which the
``system`` and ``etp`` plugins read too)."""
from __future__ import annotations

from typing import Protocol

from portald.drivers import Driver


class HostDriver(Driver, Protocol):
    """The host's facts behind ``GET /platform/api/host/info``.

    Every method answers from what the OS keeps (small files, one command), cheaply enough to be
    called per request, and never raises for a fact it cannot read: it answers ``""`` or ``0``
    instead, so the API always has every field. The plugin does what is not the OS's: it counts boots
    (by ``boot_id()``, in its own state), asks ``docker_version()`` once per daemon run, and names the
    fields as the spec does. The OS's name and architecture come from the ``system`` driver.
    """

    def hostname(self) -> str:
        """The host name the kernel holds (``uname -n``)."""
        ...

    def boot_id(self) -> str:
        """An id the kernel draws anew at every boot and keeps until the next one (Linux:
        ``/proc/sys/kernel/random/boot_id``); ``""`` when unknown, and then the boot is not counted."""
        ...

    def boot_time(self) -> int:
        """When this boot began, in whole seconds since the epoch."""
        ...

    def uptime(self) -> int:
        """Whole seconds since this boot began, time spent suspended included."""
        ...

    def machine_id(self) -> str:
        """The installation's permanent id as a UUID string (``8-4-4-4-12`` lower-case hex digits)."""
        ...

    def image_version(self) -> str:
        """The version of the OS image the integrator installed, as one line."""
        ...

    def docker_version(self) -> str:
        """The container engine's version line (``Docker version 28.2.2, build e6534b4``); ``""``
        without one. May run a command (bounded by the driver's own timeout): asked once per run."""
        ...


class DisplayDriver(Driver, Protocol):
    """The displays behind ``/platform/api/host/display/count`` and ``/screenshot/:index``.

    A display is one monitor, numbered from 0 (the primary one first when one is marked primary).
    Talking to a display server can block (Xlib/XCB wait forever on a wedged X server), so a driver
    sets ``blocking = True`` and the core bounds each call (the driver's ``timeout_seconds``); a call
    that runs out of time is ``OSError(ETIMEDOUT)``. ``probe()`` is true when there is a display to
    talk to (it need not be up yet: X often starts after the daemon).
    """

    def count(self) -> int:
        """The number of monitors; 0 when the display server cannot be reached (absence, not failure)."""
        ...

    def screenshot(self, index: int) -> bytes:
        """The PNG image of monitor ``index`` (from 0). ``portald.drivers.NotFound`` when there is no
        monitor with that index; ``portald.drivers.DriverError`` when the display cannot be captured
        (the message says why, for the client)."""
        ...


class BoardDriver(Driver, Protocol):
    """The board's identity, as the firmware tables (DMI/SMBIOS) give it.

    ``probe()`` is false on boards without such tables (most ARM boards).
    """

    def read(self) -> dict[str, str]:
        """The fields by their Linux sysfs names (``<sysfs>/class/dmi/id/<field>``): ``sys_vendor``,
        ``product_name``, ``product_version``, ``product_serial``, ``product_uuid``, ``board_vendor``,
        ``board_name``, ``board_version``, ``board_serial``, ``bios_vendor``, ``bios_version``,
        ``bios_date``, ``bios_release``, ``chassis_type``, ``chassis_serial``, plus ``ec_version``
        where a board can ask its embedded controller. A field that is missing or unreadable is
        left out, never raised; ``OSError`` only when nothing can be read at all."""
        ...
