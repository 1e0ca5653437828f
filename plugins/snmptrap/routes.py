"""``GET /platform/api/snmptrap/stats`` (an addition to the spec): the receiver's port and how many
datagrams it published or dropped, by reason (``receiver.OUTCOMES``). 404 "not supported" while the
receiver is off or could not bind its port."""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, jsonify

from portald.errors import NotSupported


def blueprint(get_receiver: Callable) -> Blueprint:
    bp = Blueprint("snmptrap", __name__, url_prefix="/platform/api/snmptrap")

    @bp.get("/stats")
    def stats():
        found = get_receiver()
        if found is None:
            raise NotSupported("the SNMP trap receiver is not running: off ([plugins.snmptrap] enabled) or "
                               "its port could not be bound (/platform/api/plugins)")
        return jsonify({"address": found.address, "port": found.port, "counters": dict(found.counters)})

    return bp
