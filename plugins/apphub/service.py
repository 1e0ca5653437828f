"""The AppHub service as the spec names its states, and the profile's ``apphub`` number.

Status strings (the spec's): ``running``; ``stopped`` (systemd: inactive or failed, also when the unit
is disabled); ``unknown status: <state>`` for a unit in transition (the services driver's ``unknown``);
``unknown or not available`` when the services driver cannot answer (systemd unreachable or timing
out). A unit the OS does not know raises ``NotFound`` (the API's 404).

Profile ``apphub`` (the spec shows 2 next to a running AppHub and defines no numbers; other profile
keys use 0 for "not supported"): 0 no AppHub service (or no services driver), 1 installed but not
running, 2 running.
"""
from __future__ import annotations

from portald.drivers import DriverError, NotFound

UNAVAILABLE = "unknown or not available"


def status(driver, unit: str) -> str:
    try:
        state = driver.status(unit)
    except NotFound:
        raise
    except (DriverError, OSError):
        return UNAVAILABLE
    if state == "running":
        return "running"
    if state in ("stopped", "disabled"):
        return "stopped"
    return f"unknown status: {state}"


def profile_value(driver, unit: str) -> int:
    if driver is None:
        return 0
    try:
        state = status(driver, unit)
    except NotFound:
        return 0
    return {"running": 2, UNAVAILABLE: 0}.get(state, 1)
