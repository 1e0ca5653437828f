"""The ``/platform/api/processes`` routes: the process list (JSON, or Server-Sent Events with
``Accept: text/event-stream``) and ``DELETE /platform/api/processes/:pid``.

DELETE is open to every logged-in user (``@privilege(DELETE=USER)``) and the view enforces ownership:
administrators may kill any process, other OS users only processes whose real uid is theirs (403
otherwise). Refused for everyone, with 422 ``{"errors":{"Processes":...}}``: a process that does not
exist, PID 1, portald itself, kernel threads and zombies (already exited). A ``:pid`` that is not a
positive decimal integer of at most 20 digits (any 64-bit value; longer is no PID any kernel can have)
is 400 ``{"errors":{"Processes":"Invalid PID"}}``, the spec's exact body.

The driver checks the process and signals it; the rule of who may end whose process is this module's.

The spec's 200 says only "Profile deleted." (copied from the Wi-Fi endpoint) and shows no body. We send
``{"pid": n, "signal": "SIGTERM"|"SIGKILL"}`` — JSON, so a client calling ``response.json()`` does not
fail, and it says whether the process had to be killed.
"""
from __future__ import annotations

import logging
import pwd
import re
from typing import Any, Callable

from flask import Blueprint, Response, jsonify

from portald import events
from portald.app_context import identity
from portald.auth.privileges import USER, privilege, streaming
from portald.drivers import DriverError
from portald.errors import AreaError, Forbidden, NotSupported
from portald.events import served
from portald.openapi_decl import AREA_ERROR, answers
from portald.sampler import Sampler

from . import kill

AREA = "Processes"
PID = re.compile(r"[0-9]{1,20}")  # ASCII digits only: int() would also accept "+5", " 5" and "٥"
log = logging.getLogger("portald.plugins.processes")


def _may_kill(owner_uid: int) -> bool:
    who = identity()
    if who.is_admin:
        return True
    try:
        return pwd.getpwnam(who.user).pw_uid == owner_uid
    except KeyError:  # the account was deleted after its token was issued
        return False


def _refused(exc: Exception) -> AreaError:
    """A driver's refusal (``DriverError``), or a driver that did not answer in time (``OSError``)."""
    message = str(exc) if isinstance(exc, DriverError) else (getattr(exc, "strerror", None) or str(exc))
    return AreaError(AREA, message)


def blueprint(get_sampler: Callable[[], Sampler | None], get_driver: Callable[[], Any],
              grace: Callable[[], float]) -> Blueprint:
    bp = Blueprint("processes", __name__, url_prefix="/platform/api/processes")

    @bp.get("")
    @streaming
    def listing():
        # JSON: the body the sampler encoded once per sample
        return events.json_or_stream(
            "processes", lambda: Response(served(get_sampler()).body, mimetype="application/json"))

    @bp.delete("/<pid>")
    @privilege(DELETE=USER)
    @answers({400: AREA_ERROR})
    def kill_process(pid: str):
        if not PID.fullmatch(pid) or int(pid) == 0:
            raise AreaError(AREA, "Invalid PID", 400)
        number, who = int(pid), identity()
        driver = get_driver()
        if driver is None:
            raise NotSupported()
        try:
            target = driver.target(number)
        except (DriverError, OSError) as exc:
            raise _refused(exc) from None
        name, owner = target["name"], target["uid"]
        if not _may_kill(owner):
            log.warning("%s (%s) may not kill PID %d (%s, uid %d): not theirs", who.user, who.role, number,
                        name, owner)
            raise Forbidden(f"PID {number} belongs to another user")
        try:
            ended_by = kill.stop(driver, target, grace())
        except (DriverError, OSError) as exc:
            log.warning("%s (%s) could not kill PID %d (%s): %s", who.user, who.role, number, name, exc)
            raise _refused(exc) from None
        log.info("%s (%s) killed PID %d (%s, uid %d) with %s", who.user, who.role, number, name, owner, ended_by)
        return jsonify({"pid": number, "signal": ended_by})

    return bp
