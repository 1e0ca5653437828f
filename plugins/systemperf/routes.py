"""The ``/platform/api/systemperf`` routes and the ``systemperf`` event.

``info`` is one object, not a list, even on a machine with several CPUs: the spec shows an object and a
client reads ``cpu.info.modelName``. It describes the first logical CPU (processor 0), which on every
single-package machine describes them all; ``usage`` has one entry per logical CPU. (On big.LITTLE ARM
parts the other cluster's core name is not shown.)

The spec lists no per-resource SSE variant for systemperf (only ``/platform/api/events`` carries it), so
``Accept: text/event-stream`` on these paths still gets JSON.
"""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, jsonify

from portald.errors import NotSupported
from portald.events import served
from portald.sampler import Sampler


def memory(sampler: Sampler | None) -> dict:
    found = served(sampler)["memory"]
    if found is None:
        raise NotSupported("no available data: the memory figures cannot be read")
    return found


def whole(sampler: Sampler | None) -> dict:
    """``GET /platform/api/systemperf`` and the ``systemperf`` event."""
    return {"cpu": served(sampler)["cpu"], "memory": memory(sampler)}


def blueprint(get_sampler: Callable[[], Sampler | None]) -> Blueprint:
    bp = Blueprint("systemperf", __name__, url_prefix="/platform/api/systemperf")

    @bp.get("")
    def everything():
        return jsonify(whole(get_sampler()))

    @bp.get("/cpu")
    def cpu():
        return jsonify(served(get_sampler())["cpu"])

    @bp.get("/memory")
    def memory_figures():
        return jsonify(memory(get_sampler()))

    return bp
