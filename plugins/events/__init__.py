"""``GET /platform/api/events``: every named event (diskdrives, hwmon, netifaces, processes, pwrstatus,
snmptrap, systemperf) multiplexed on one Server-Sent Events stream.

Each event's data comes from the plugin that owns it, through the core's event bus; an event whose
plugin is not installed, or has no hardware, simply never appears. The token may come as
``?token=`` because the browser's EventSource cannot send headers. Optional ``?events=a,b`` narrows
the stream to some events (an addition to the spec).
"""
from flask import Blueprint, request

from portald.auth.privileges import streaming
from portald.errors import ValidationFailed
from portald.hookspecs import hookimpl

SPEC_EVENTS = ("diskdrives", "hwmon", "netifaces", "processes", "pwrstatus", "snmptrap", "systemperf")


@hookimpl
def portald_blueprints(ctx):
    bp = Blueprint("events", __name__, url_prefix="/platform/api")

    @bp.get("/events")
    @streaming
    def events():
        names = list(SPEC_EVENTS)
        wanted = request.args.get("events")
        if wanted:
            names = [n for n in wanted.split(",") if n]
            unknown = sorted(set(names) - set(SPEC_EVENTS))
            if unknown:
                raise ValidationFailed(f"unknown event(s): {', '.join(unknown)}", 400)
        return ctx.events.response(names)

    return [bp]
