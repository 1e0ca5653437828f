"""The fields of ``GET /platform/api/host/info``, in the spec's names: plain data, no Flask.

The facts come from drivers: the ``host`` driver (name, boot, identity), the ``system`` driver (the OS)
and the ``board`` driver (DMI fields). A field that cannot be read is ``""`` (strings) or ``0``
(numbers), never missing, so a client always finds every key of the spec's example with its type.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger("portald.plugins.host")


def fact(read: Callable[[], Any], default: Any) -> Any:
    """One driver answer; a driver that raises (an OEM's, a stalled one) costs that field only."""
    try:
        value = read()
    except Exception as exc:  # noqa: BLE001 - any driver failure: the field is empty, the rest is served
        log.debug("host fact %s unreadable: %s", getattr(read, "__name__", read), exc)
        return default
    return value if isinstance(value, type(default)) and not isinstance(value, bool) else default


def bios_fields(dmi: dict[str, str]) -> dict[str, str]:
    """The spec's BIOS fields from DMI fields named as in sysfs. ``product_serial`` is the system's
    serial; boards whose vendor left it out still often carry ``board_serial``."""
    return {
        "biosSerialNumber": dmi.get("product_serial") or dmi.get("board_serial", ""),
        "biosUUID": dmi.get("product_uuid", ""),
        "biosVersion": dmi.get("bios_version", ""),
        "releaseDate": dmi.get("bios_date", ""),
        "deviceName": dmi.get("product_name", ""),
        "ecVersion": dmi.get("ec_version", ""),
    }


def collect(host, system, board, *, boot_count: int, docker: str) -> dict:
    """``host`` is the host driver; ``system`` and ``board`` may be None (no such driver)."""
    dmi = fact(board.read, {}) if board is not None else {}
    os_facts = fact(system.os, {}) if system is not None else {}
    info = {
        **bios_fields(dmi),
        "bootCount": boot_count,
        "bootTime": fact(host.boot_time, 0),
        "dockerVersion": docker,
        "hostid": fact(host.machine_id, ""),
        "hostname": fact(host.hostname, ""),
        "imageVersion": fact(host.image_version, ""),
        "kernelArch": os_facts.get("arch", ""),
        "os": os_facts.get("name", ""),
        "platform": os_facts.get("pretty_name", ""),
        "upTime": fact(host.uptime, 0),
    }
    return dict(sorted(info.items()))
