"""``/edgehub/api/apphub/*``: the AppHub service's status, its control, and its log settings.

Errors use the EdgeHub part's shape, ``{"message": ...}``: 404 when the AppHub unit is not installed
(or the machine has no services driver), 400 for a malformed body, 422 when systemd (or the sim board)
refused or the log settings could not be written. Reading is for any user; writes for administrators
(the default).
"""
from __future__ import annotations

from typing import Callable, Literal

from flask import Blueprint, jsonify

from portald.app_context import identity
from portald.drivers import DriverError, NotFound
from portald.errors import ApiError, AreaError, NotSupported
from portald.openapi_decl import MESSAGE, accepts, answers
from portald.validation import Body, parse_body

from . import service


class ServiceBody(Body):
    action: Literal["start", "stop", "restart"]


class LogConfigBody(Body):
    logFile: bool | None = None
    logLevel: Literal["error", "info"] | None = None


def _body(model):
    try:
        return parse_body(model)
    except AreaError as exc:
        raise ApiError(exc.message, 400) from None


def blueprint(get_driver: Callable[[], object | None], unit: str, log_config, log) -> Blueprint:
    bp = Blueprint("apphub", __name__, url_prefix="/edgehub/api/apphub")

    def driver():
        found = get_driver()
        if found is None:
            raise NotSupported("no AppHub service installed: this machine has no services driver")
        return found

    @bp.get("/status")
    def status():
        try:
            return jsonify({"status": service.status(driver(), unit)})
        except NotFound:
            raise NotSupported(f"no AppHub service installed ({unit} not found)") from None

    @bp.put("/service")
    @accepts(ServiceBody)
    @answers({204: None, 400: MESSAGE, 422: MESSAGE})
    def control():
        found = driver()
        action = _body(ServiceBody).action
        try:
            found.control(unit, action)
        except NotFound:
            raise NotSupported(f"no AppHub service installed ({unit} not found)") from None
        except (DriverError, OSError) as exc:
            log.warning("%s could not %s %s: %s", identity().user, action, unit, exc)
            raise ApiError(str(exc), 422) from None
        log.info("%s: %s %s", identity().user, action, unit)
        return "", 204

    @bp.put("/log/config")
    @accepts(LogConfigBody)
    @answers({204: None, 400: MESSAGE, 422: MESSAGE})
    def log_config_put():
        body = _body(LogConfigBody)
        changes = body.model_dump(exclude_none=True)
        if not changes:
            raise ApiError("give logFile, logLevel or both", 400)
        try:
            written = log_config.update(changes)
        except OSError as exc:
            raise ApiError(f"cannot write {log_config.path}: {exc.strerror or exc}", 422) from None
        log.info("%s set the AppHub log configuration to %s", identity().user, written)
        return "", 204

    return bp
