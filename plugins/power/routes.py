"""``GET /platform/api/perif/redundant_power``: JSON, or with ``Accept: text/event-stream`` the same JSON
as ``event: message`` frames (the ``pwrstatus`` source of ``/platform/api/events``). An input that cannot
be read is the spec's 404 "no available data", with the reason."""
from __future__ import annotations

from flask import Blueprint

from portald import events
from portald.auth.privileges import streaming
from portald.errors import NotSupported


def status(driver) -> dict:
    if driver is None:
        raise NotSupported()
    try:
        states = driver.read()
    except OSError as exc:
        raise NotSupported(f"no available data: {exc}") from None
    return {"vin1State": int(states["vin1"]), "vin2State": int(states["vin2"])}


def blueprint(ctx) -> Blueprint:
    bp = Blueprint("power", __name__, url_prefix="/platform/api/perif/redundant_power")

    @bp.get("")
    @streaming
    def redundant_power():
        return events.json_or_stream("pwrstatus", lambda: status(ctx.driver("power")))

    return bp
