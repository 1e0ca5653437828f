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


def snapshot(sampler: Sampler | None) -> dict:
    data = events.served(sampler)
    return {kind: list(data.get(kind, [])) for kind in KINDS.values()}


def blueprint(get_sampler: Callable[[], Sampler | None]) -> Blueprint:
    bp = Blueprint("hwmon", __name__, url_prefix="/platform/api/hwmon")

    def everything() -> dict:
        data = snapshot(get_sampler())
        if not any(data.values()):
            raise NotSupported()
        return data

    @bp.get("")
    @streaming
    def all_readings():
        """JSON, or with ``Accept: text/event-stream`` the same JSON as ``event: message`` frames."""
        return events.json_or_stream("hwmon", everything)

    def one_kind(kind: str):
        def view():
            readings = snapshot(get_sampler())[kind]
            if not readings:
                raise NotSupported()
            return jsonify(readings)
        return view

    for path, kind in KINDS.items():
        bp.add_url_rule(f"/{path}", endpoint=path, view_func=one_kind(kind), methods=["GET"])
    return bp
