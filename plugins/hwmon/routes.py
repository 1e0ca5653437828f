"""The ``/platform/api/hwmon`` routes.

The spec contradicts itself on the type of ``value``: the ``GET /hwmon`` example shows strings
(``"50.1"``) while the per-kind endpoints and the SSE stream show numbers. We always send numbers —
what four of the five examples show and what a client doing arithmetic or comparisons needs
(JavaScript's ``parseFloat`` accepts either).

Every request of one sampling period gets the same body: it is encoded once per sample
(``Sampler.latest_rendered``), not once per request.
"""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, Response, current_app

from portald import events
from portald.auth.privileges import streaming
from portald.errors import NotSupported
from portald.sampler import SampleFailed, Sampler

KINDS = {"temperatures": "temperature", "voltages": "voltage", "currents": "current", "fanspeeds": "fanspeed"}


def snapshot(sampler: Sampler | None) -> dict:
    return _shape(events.served(sampler))


def _shape(data: dict) -> dict:
    return {kind: list(data.get(kind, [])) for kind in KINDS.values()}


def _body(get_sampler: Callable[[], Sampler | None], kind: str | None) -> Response:
    """The JSON of every reading (``kind`` None) or of one kind; 404 when there is none."""
    sampler = get_sampler()
    if sampler is None:
        raise NotSupported()

    def render(data: dict) -> bytes:
        shaped = _shape(data)
        found = shaped if kind is None else shaped[kind]
        if not (any(shaped.values()) if kind is None else found):
            return b""
        return (current_app.json.dumps(found) + "\n").encode()

    try:
        body = sampler.latest_rendered(render, kind or "")
    except SampleFailed as exc:
        raise NotSupported(f"no available data: {exc}") from None
    if not body:
        raise NotSupported()
    return Response(body, mimetype="application/json")


def blueprint(get_sampler: Callable[[], Sampler | None]) -> Blueprint:
    bp = Blueprint("hwmon", __name__, url_prefix="/platform/api/hwmon")

    @bp.get("")
    @streaming
    def all_readings():
        """JSON, or with ``Accept: text/event-stream`` the same JSON as ``event: message`` frames."""
        return events.json_or_stream("hwmon", lambda: _body(get_sampler, None))

    def one_kind(kind: str):
        def view():
            return _body(get_sampler, kind)
        return view

    for path, kind in KINDS.items():
        bp.add_url_rule(f"/{path}", endpoint=path, view_func=one_kind(kind), methods=["GET"])
    return bp
