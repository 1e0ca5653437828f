"""The ``/platform/api/networking`` routes (Wi-Fi excepted): adapters, static/DHCP IPv4, route order.

Where the spec is vague, what a client written against it expects:

* ``PUT .../ipv4config/:ifIndex``: a body without the spec's shape (a field missing or not a dotted
  quad, a non-contiguous mask) is 422 ``validator``; a well-formed configuration that cannot work (the
  gateway outside the subnet), an ``:ifIndex`` that is no adapter, and a change the OS refused are 422
  ``Net``. ``defaultGateway`` and ``primaryDNS`` may be empty (a machine network without either).
* ``DELETE .../ipv4config/:ifIndex``: an unknown ``:ifIndex`` is the spec's 422 ``Net`` "missing
  parameters".
* ``POST .../interfaces/route``: a body that is not the spec's shape is 422 ``validator``; an empty or
  missing ``sortedGUIDList`` is the spec's exact 422 ``{"errors":{"networking":"empty list"}}``; a uuid
  that is no adapter, or named twice, is 422 ``networking`` too (nothing was applied); a change the OS
  refused is the spec's 400 ``networking`` ("applied but got errors"). The first adapter gets metric
  ``route_metric_base``, each next one ``route_metric_step`` more; adapters not listed keep theirs.

Additions (documented in the README): every change is made under the confirmation window
(``portald.change_window``), so each write's JSON body carries ``"confirmation": {"id", "confirmUrl",
"confirmMethod", "deadline", "secondsLeft", "timeoutSeconds", "changes"}``, and the previous
configuration comes back unless the client confirms in time. ``PUT`` answers the applied configuration
plus that key; ``DELETE`` (200) and ``POST`` (201), which show no body in the spec, answer
``{"confirmation": ...}``. The changes are ``GET /platform/api/networking/changes`` (``{"pending": ...}``),
``POST .../changes/:id/confirm`` and ``DELETE .../changes/:id`` (roll back now).
"""
from __future__ import annotations

import re
from typing import Any, Callable

from flask import Blueprint, Response, jsonify
from pydantic import Field

from portald import events
from portald.app_context import identity
from portald.auth.privileges import streaming
from portald.change_window import NoSuchChange
from portald.drivers import NotFound
from portald.errors import AreaError, hardware_errors
from portald.events import served
from portald.openapi_decl import AREA_ERROR, JSON, accepts, answers, links
from portald.validation import Body, parse_body

from . import ipv4

NET = "Net"
NETWORKING = "networking"
OWNER = "networking"
IF_INDEX = re.compile(r"[0-9]{1,10}")


class RouteBody(Body):
    ipv6: bool = False
    sortedGUIDList: list[str] | None = Field(None, max_length=256)


# what a static/DHCP change answers leads to its confirmation or rollback (Schemathesis follows it)
_CHANGE = {"change_id": "$response.body#/confirmation/id"}
CONFIRMATION = {"confirm": ("networking_changes.confirm", "POST", _CHANGE),
                "roll_back": ("networking_changes.roll_back", "DELETE", _CHANGE)}


def blueprint(ctx, get_sampler: Callable[[], Any], metrics: Callable[[int], list[int]]) -> list[Blueprint]:
    bp = Blueprint("networking", __name__, url_prefix="/platform/api/networking")
    window = ctx.change_window

    def driver():
        return ctx.require("networking")

    def adapter(if_index: str, area: str) -> dict:
        """The adapter with that index, read now (not from the sampler: it must exist this moment)."""
        if not IF_INDEX.fullmatch(if_index):
            raise AreaError(area, f"invalid ifIndex {if_index!r}: expected a positive integer")
        with hardware_errors(area, "cannot read the network adapters"):
            found = driver().interfaces()
        for item in found:
            if item["ifIndex"] == int(if_index):
                return item
        raise AreaError(area, f"no network adapter has ifIndex {if_index}")

    def changed(what: str, apply: Callable[[], Any], area: str, status: int = 422) -> dict:
        net = driver()
        try:
            with hardware_errors(area, f"{what} failed, the previous configuration was restored", status):
                try:
                    _, pending = window.change(OWNER, net.snapshot, apply, identity().user, what)
                except NotFound as exc:
                    raise AreaError(area, str(exc) or "no such network adapter", status) from None
        finally:
            sampler = get_sampler()
            if sampler is not None:
                sampler.refresh()
        return pending

    @bp.get("/interfaces")
    @streaming
    @links(set_static=("networking.set_static", "PUT", {"if_index": "$response.body#/0/ifIndex"}),
           set_dhcp=("networking.set_dhcp", "DELETE", {"if_index": "$response.body#/0/ifIndex"}))
    def interfaces():
        def body() -> Response:
            sampler = get_sampler()
            served(sampler)  # 404 without a driver, or when reading failed
            return Response(sampler.latest_rendered(_json), mimetype="application/json")

        return events.json_or_stream("netifaces", body)

    @bp.put("/ipv4config/<if_index>")
    @accepts(ipv4.Ipv4Body)
    @links(**CONFIRMATION)
    def set_static(if_index: str):
        config = ipv4.checked(parse_body(ipv4.Ipv4Body))
        found = adapter(if_index, NET)
        what = (f"static IPv4 {config['ipAddress']}/{config['subnetMask']} gateway "
                f"{config['defaultGateway'] or 'none'} on {found['name']} (ifIndex {found['ifIndex']})")
        pending = changed(what, lambda: driver().set_static_ipv4(found["ifIndex"], config), NET)
        return jsonify({**config, "secondaryDNS": config["secondaryDNS"] or "", "confirmation": pending})

    @bp.delete("/ipv4config/<if_index>")
    @links(**CONFIRMATION)
    def set_dhcp(if_index: str):
        found = adapter(if_index, NET)
        what = f"DHCP on {found['name']} (ifIndex {found['ifIndex']})"
        return jsonify({"confirmation": changed(what, lambda: driver().set_dhcp(found["ifIndex"]), NET)})

    @bp.post("/interfaces/route")
    @accepts(RouteBody)
    @answers({201: JSON, 400: AREA_ERROR})
    @links(201, **CONFIRMATION)
    def route_order():
        body = parse_body(RouteBody)
        order = body.sortedGUIDList or []
        if not order:
            raise AreaError(NETWORKING, "empty list")
        if len(set(order)) != len(order):
            raise AreaError(NETWORKING, "sortedGUIDList names an adapter twice")
        with hardware_errors(NETWORKING, "cannot read the network adapters", 400):
            known = {item["uuid"] for item in driver().interfaces()}
        unknown = [uuid for uuid in order if uuid not in known]
        if unknown:
            raise AreaError(NETWORKING, f"no network adapter has uuid {unknown[0]!r}")
        wanted = dict(zip(order, metrics(len(order))))
        family = "IPv6" if body.ipv6 else "IPv4"
        what = f"{family} route order {', '.join(order)}"
        pending = changed(what, lambda: driver().set_route_metrics(wanted, body.ipv6), NETWORKING, 400)
        return jsonify({"confirmation": pending}), 201

    return [bp, changes_blueprint(window)]


def changes_blueprint(window) -> Blueprint:
    bp = Blueprint("networking_changes", __name__, url_prefix="/platform/api/networking/changes")

    def not_pending(change_id: str) -> AreaError:
        return AreaError(NETWORKING, f"no network change {change_id!r} is waiting for confirmation", 404)

    @bp.get("")
    def pending():
        return jsonify({"pending": window.pending()})

    @bp.post("/<change_id>/confirm")
    @answers({404: AREA_ERROR})
    def confirm(change_id: str):
        try:
            window.confirm(change_id, identity().user)
        except NoSuchChange:
            raise not_pending(change_id) from None
        return jsonify({"confirmed": change_id})

    @bp.delete("/<change_id>")
    @answers({400: AREA_ERROR, 404: AREA_ERROR})
    def roll_back(change_id: str):
        try:
            left = window.roll_back(change_id, identity().user)
        except NoSuchChange:
            raise not_pending(change_id) from None
        if left is not None:
            raise AreaError(NETWORKING, f"rollback failed, retried: {left.get('rollbackError', '')}", 400)
        return jsonify({"rolledBack": change_id})

    return bp


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value, separators=(",", ":")).encode()
