"""``GET /platform/api/events``: every named event multiplexed on one Server-Sent Events stream.

The spec lists diskdrives, hwmon, netifaces, processes, pwrstatus, snmptrap and systemperf. Which of
them this daemon serves is not written here: each event is declared by the capability plugin that owns
it (``Capability(events=...)``), so a new plugin's event is served without touching this one. An event
whose plugin is loaded but has no hardware on this machine is accepted and simply never appears.

The token may come as ``?token=`` because the browser's EventSource cannot send headers. Optional
``?events=a,b`` narrows the stream to some events (an addition to the spec); a name that no loaded
plugin declares is a 400 ``{"errors": {"validator": ...}}`` (a typo must not look like a quiet device).
"""
from flask import Blueprint, request

from portald.auth.privileges import streaming
from portald.capability import Capability
from portald.errors import ValidationFailed
from portald.openapi_decl import AREA_ERROR, answers, query


def blueprint(ctx) -> Blueprint:
    bp = Blueprint("events", __name__, url_prefix="/platform/api")

    @bp.get("/events")
    @streaming
    @answers({200: "text/event-stream", 400: AREA_ERROR})
    @query(events={"type": "string", "description": "comma-separated event names (default: every one)"})
    def events():
        declared = ctx.events.declared
        names = sorted(declared)
        wanted = request.args.get("events")
        if wanted:
            names = [n for n in wanted.split(",") if n]
            unknown = sorted(set(names) - declared)
            if unknown:
                raise ValidationFailed(f"unknown event(s): {', '.join(unknown)}", 400)
        return ctx.events.response(names)

    return bp


CAPABILITY = Capability("events", None, blueprints=blueprint)
CAPABILITY.export(globals())
