"""The ``/platform/api/service`` routes: the service list, one service's status, and control.

Where the spec (written for Windows services) leaves the Linux reading open, we answer what a client
written against it would expect:

* ``name`` is the unit name without ``.service`` (``ssh``), as the spec's bare names; it is what the
  client sends back in ``/service/:name``, which also takes the full unit name (``ssh.service``).
  A unit whose bare name would be ambiguous keeps its suffix (``list.service``: ``/service/list``
  is the list).
* ``displayName`` is systemd's ``Description=`` (a one-line title, what ``systemctl`` shows) or the
  name when there is none; ``description`` is the same text, since systemd has no longer one. Services
  that are not loaded (typically the disabled ones) have an empty ``description``.
* A name systemd's grammar rejects, a non-service unit, and a service systemd does not know are the
  spec's only error for the area: 422 ``{"errors": {"Service": ...}}``; so is a failed or unfinished
  start/stop/restart and an unreachable systemd. ``unknown`` is kept for a service that exists but is
  in transition. A malformed PUT body is 422 ``{"errors": {"validator": ...}}``.
* Reads are for any user; control (PUT) is the default for a write, administrators only.
"""
from __future__ import annotations

import logging
from typing import Callable, Literal

from flask import Blueprint, jsonify

from portald.app_context import identity
from portald.drivers import DriverError
from portald.errors import AreaError, NotSupported
from portald.openapi_decl import accepts, answers, links
from portald.validation import Body, parse_body


from .unit_names import InvalidName, service_name, service_unit

AREA = "Service"
DONE = {"start": "started", "stop": "stopped", "restart": "restarted"}


class ControlBody(Body):
    action: Literal["start", "stop", "restart"]


def blueprint(get_driver: Callable[[], object | None], log: logging.Logger) -> Blueprint:
    bp = Blueprint("services", __name__, url_prefix="/platform/api/service")

    def driver():
        found = get_driver()
        if found is None:
            raise NotSupported()
        return found

    def unit_of(name: str) -> str:
        try:
            return service_unit(name)
        except InvalidName as exc:
            raise AreaError(AREA, str(exc)) from None

    @bp.get("/list")
    @links(service_status=("services.service_status", "GET", {"name": "$response.body#/0/name"}),
           control_service=("services.control_service", "PUT", {"name": "$response.body#/0/name"}))
    def service_list():
        try:
            services = driver().services()
        except DriverError as exc:
            raise AreaError(AREA, str(exc)) from None
        return jsonify([{"name": service_name(s.unit), "displayName": s.description or service_name(s.unit),
                         "description": s.description, "status": s.status} for s in services])

    @bp.get("/<name>")
    def service_status(name: str):
        found, unit = driver(), unit_of(name)
        try:
            return jsonify({"status": found.status(unit)})
        except DriverError as exc:
            raise AreaError(AREA, str(exc)) from None

    @bp.put("/<name>")
    @accepts(ControlBody)
    @answers({204: None})
    def control_service(name: str):
        found, unit = driver(), unit_of(name)
        action = parse_body(ControlBody).action
        who = identity().user
        try:
            found.control(unit, action)
        except DriverError as exc:
            log.warning("%s could not %s %s: %s", who, action, unit, exc)
            raise AreaError(AREA, str(exc)) from None
        log.info("%s %s %s", who, DONE[action], unit)
        return "", 204

    return bp
