"""The ``/platform/api/control`` routes: reboot, shutdown, display power.

* ``POST /reboot`` and ``/shutdown`` are for administrators only (403 otherwise). They answer 200 first
  and act ``delay_seconds`` later in a greenlet ([plugins.control], 1 s by default), so the client gets
  its answer before the network goes down. Who asked is logged at INFO. A command that then fails is
  logged at ERROR (the 200 was already sent: the spec's 422 is used only for what is known before
  answering — a reboot or shutdown already under way). One request at a time: a second one while the
  first waits or runs is a 422, so a double click never runs the command twice.
* ``GET /display``: 204 when the display's power can be switched now, 404 when not.
* ``PUT /display`` ``{"status": "on"|"off"}``: 200 once done. The spec lists only 422
  ``{"errors": {"Control": ...}}``, so a malformed body gets that shape too (like Brightness), and a
  machine that cannot switch its display answers the same 422.
"""
from __future__ import annotations

from typing import Literal

import gevent
from flask import Blueprint, Response

from portald.app_context import identity
from portald.auth.privileges import ADMIN, privilege
from portald.errors import AreaError, NotSupported, hardware_errors
from portald.openapi_decl import accepts, answers
from portald.validation import Body, parse_body

AREA = "Control"


class DisplayBody(Body):
    status: Literal["on", "off"]


class PowerActions:
    """The one pending reboot or shutdown of this daemon run."""

    def __init__(self, ctx, delay_seconds: float):
        self.ctx, self.delay = ctx, delay_seconds
        self.pending: str | None = None
        self.greenlet: gevent.Greenlet | None = None

    def request(self, action: str, user: str) -> None:
        if self.pending is not None:
            raise AreaError(AREA, f"a {self.pending} is already under way")
        self.ctx.log.info("%s requested by %s (in %g s)", action, user, self.delay)
        self.pending = action
        self.greenlet = gevent.spawn_later(self.delay, self._run, action, user)

    def _run(self, action: str, user: str) -> None:
        try:
            driver = self.ctx.driver("control")
            if driver is None:
                raise OSError(f"no control driver to {action}")
            getattr(driver, action)()
            self.ctx.log.info("%s started (requested by %s)", action, user)
        except Exception as exc:  # the answer is sent; all that is left is to tell the operator
            self.ctx.log.error("%s requested by %s failed: %s", action, user, exc)
        finally:
            self.pending = None

    def cancel(self) -> None:
        if self.greenlet is not None:
            self.greenlet.kill(block=False)


def blueprint(ctx, actions: PowerActions) -> Blueprint:
    bp = Blueprint("control", __name__, url_prefix="/platform/api/control")

    def power(action: str):
        ctx.require("control")
        actions.request(action, identity().user)
        return Response(status=200)

    @bp.post("/reboot")
    @privilege(ADMIN)
    @answers({200: None})
    def reboot():
        return power("reboot")

    @bp.post("/shutdown")
    @privilege(ADMIN)
    @answers({200: None})
    def shutdown():
        return power("shutdown")

    @bp.get("/display")
    @answers({204: None})
    def display_supported():
        driver = ctx.require("control")
        if not driver.display_supported():
            raise NotSupported("this machine cannot switch its display on and off")
        return Response(status=204)

    @bp.put("/display")
    @privilege(ADMIN)
    @accepts(DisplayBody)
    @answers({200: None})
    def set_display():
        driver = ctx.driver("control")
        status = parse_body(DisplayBody, AREA).status
        if driver is None:
            raise AreaError(AREA, "this machine cannot switch its display on and off")
        with hardware_errors(AREA, f"cannot turn the display {status}"):
            driver.set_display(status == "on")
        ctx.log.info("display turned %s by %s", status, identity().user)
        return Response(status=200)

    return bp
