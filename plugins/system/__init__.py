"""The system's identity in the capability profile: ``os``, ``os:arch``, ``os:description`` (from the
``system`` driver: ``interface.SystemDriver``), ``model:name`` (the ``board`` driver's DMI product name)
and ``system:ip`` / ``system:mac`` (the system driver's primary address: the interface of the default
route). With no system driver these keys keep the profile's defaults."""
from portald.capability import Capability

from .interface import SystemDriver


def _model(ctx) -> str:
    board = ctx.driver("board")
    if board is None:
        return ""
    try:
        found = board.read()
    except OSError as exc:  # a stalled DMI read costs the model name, not the profile
        ctx.log.debug("board identity unreadable: %s", exc)
        return ""
    return found.get("product_name") or found.get("board_name", "")


def _description(facts) -> str:
    """The distribution's name, else the kernel's (``Linux 6.1.0-18-amd64``)."""
    return facts["pretty_name"] or f"{facts['name'].capitalize()} {facts['release']}".strip()


def profile(ctx, driver) -> dict:
    if driver is None:
        return {"model:name": _model(ctx)}
    facts = driver.os()
    ip, mac = driver.primary_address()
    return {
        "os": facts["name"],
        "os:arch": facts["arch"],
        "os:description": _description(facts),
        "model:name": _model(ctx),
        "system:ip": ip,
        "system:mac": mac,
    }


CAPABILITY = Capability("system", SystemDriver, absent="no system driver", profile=profile)
CAPABILITY.export(globals())
