"""The ``/platform/api/hwmon`` routes.

The spec contradicts itself on the type of ``value``: the ``GET /hwmon`` example shows strings
(``"50.1"``) while the per-kind endpoints and the SSE stream show numbers. We always send numbers —
what four of the five examples show and what a client doing arithmetic or comparisons needs
(JavaScript's ``parseFloat`` accepts either).
"""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, jsonify

from portald import events
from portald.auth.privileges import streaming
from portald.errors import NotSupported
from portald.sampler import Sampler

KINDS = {"temperatures": "temperature", "voltages": "voltage", "currents": "current", "fanspeeds": "fanspeed"}


def _snapshot(get_sampler: Callable[[], Sampler | None]) -> dict:
    data = events.served(get_sampler())
    return {kind: list(data.get(kind, [])) for kind in KINDS.values()}


def event_source(sampler: Sampler) -> events.SnapshotSource:
    """The ``hwmon`` event: the same JSON as ``GET /platform/api/hwmon``."""
    return events.SnapshotSource(lambda: _snapshot(lambda: sampler))


def blueprint(ctx, get_sampler: Callable[[], Sampler | None]) -> Blueprint:
    bp = Blueprint("hwmon", __name__, url_prefix="/platform/api/hwmon")

    @bp.get("")
    @streaming
    def all_readings():
        """JSON, or with ``Accept: text/event-stream`` the same JSON as ``event: message`` frames."""
        if events.wants_stream():
            if get_sampler() is None:
                raise NotSupported()
            return ctx.events.response(["hwmon"], {"hwmon": "message"})
        data = _snapshot(get_sampler)
        if not any(data.values()):
            raise NotSupported()
        return jsonify(data)

    def one_kind(kind: str):
        def view():
            readings = _snapshot(get_sampler)[kind]
            if not readings:
                raise NotSupported()
            return jsonify(readings)
        return view

    for path, kind in KINDS.items():
        bp.add_url_rule(f"/{path}", endpoint=path, view_func=one_kind(kind), methods=["GET"])
    return bp
