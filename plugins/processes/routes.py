"""The ``/platform/api/processes`` routes: the process list (JSON, or Server-Sent Events with
``Accept: text/event-stream``) and ``DELETE /platform/api/processes/:pid``.

DELETE is open to every logged-in user (``@privilege(DELETE=USER)``) and the view enforces ownership:
administrators may kill any process, other OS users only processes whose real uid is theirs (403
otherwise). Refused for everyone, with 422 ``{"errors":{"Processes":...}}``: a process that does not
exist, PID 1, portald itself, kernel threads and zombies (already exited). A ``:pid`` that is not a
positive decimal integer of at most 20 digits (any 64-bit value; longer is no PID any kernel can have)
is 400 ``{"errors":{"Processes":"Invalid PID"}}``, the spec's exact body.

The spec's 200 says only "Profile deleted." (copied from the Wi-Fi endpoint) and shows no body. We send
``{"pid": n, "signal": "SIGTERM"|"SIGKILL"}`` — JSON, so a client calling ``response.json()`` does not
fail, and it says whether the process had to be killed.
"""
from __future__ import annotations

import logging
import pwd
import re
from typing import Callable

import psutil
from flask import Blueprint, Response, jsonify

from portald import events
from portald.auth.privileges import streaming
from portald.app_context import identity
from portald.auth.privileges import USER, privilege
from portald.errors import AreaError, Forbidden
from portald.events import SnapshotSource, served
from portald.sampler import Sampler

from . import kill
from .table import Snapshot

AREA = "Processes"
PID = re.compile(r"[0-9]{1,20}")  # ASCII digits only: int() would also accept "+5", " 5" and "٥"
log = logging.getLogger("portald.plugins.processes")


def snapshot(sampler: Sampler) -> Snapshot:
    return served(sampler)


def event_source(sampler: Sampler) -> SnapshotSource:
    """The ``processes`` event: the same JSON as ``GET /platform/api/processes``."""
    return SnapshotSource(lambda: served(sampler).rows)


def _may_kill(owner_uid: int) -> bool:
    who = identity()
    if who.is_admin:
        return True
    try:
        return pwd.getpwnam(who.user).pw_uid == owner_uid
    except KeyError:  # the account was deleted after its token was issued
        return False


def blueprint(ctx, get_sampler: Callable[[], Sampler], grace: Callable[[], float]) -> Blueprint:
    bp = Blueprint("processes", __name__, url_prefix="/platform/api/processes")

    @bp.get("")
    @streaming
    def listing():
        if events.wants_stream():
            return ctx.events.response(["processes"], {"processes": "message"})
        return Response(snapshot(get_sampler()).body, mimetype="application/json")

    @bp.delete("/<pid>")
    @privilege(DELETE=USER)
    def kill_process(pid: str):
        if not PID.fullmatch(pid) or int(pid) == 0:
            raise AreaError(AREA, "Invalid PID", 400)
        number, who = int(pid), identity()
        try:
            proc = kill.target(number)
            name, owner = proc.name(), proc.uids().real
        except kill.KillRefused as exc:
            raise AreaError(AREA, str(exc)) from None
        except psutil.NoSuchProcess:
            raise AreaError(AREA, f"no process with PID {number}") from None
        if not _may_kill(owner):
            log.warning("%s (%s) may not kill PID %d (%s, uid %d): not theirs", who.user, who.role, number,
                        name, owner)
            raise Forbidden(f"PID {number} belongs to another user")
        try:
            ended_by = kill.stop(proc, grace())
        except kill.KillRefused as exc:
            log.warning("%s (%s) could not kill PID %d (%s): %s", who.user, who.role, number, name, exc)
            raise AreaError(AREA, str(exc)) from None
        log.info("%s (%s) killed PID %d (%s, uid %d) with %s", who.user, who.role, number, name, owner, ended_by)
        return jsonify({"pid": number, "signal": ended_by})

    return bp
