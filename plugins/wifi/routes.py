"""The ``/platform/api/networking/wifi`` routes: adapters with their saved profiles, scans, deleting a
profile, and (an addition) joining a network.

Where the spec is vague, what a client written against it expects:

* every failure is 422 ``{"errors":{"WiFi": ...}}``, the only error body the spec gives these routes
  besides 401 — an unknown adapter uuid included (no 404: the spec has none here, and 404 means "not
  supported" elsewhere); a machine without a Wi-Fi driver answers ``GET .../wifi/interfaces`` with the
  spec's "empty if there is no network adapter found" ``[]``, and the other routes 422 "no Wi-Fi adapter".
* ``DELETE .../interface/:uuid/profile/:name`` with an empty name — the URL ending in ``/profile/`` or
  ``/profile`` — is the spec's exact 400 ``{"errors":{"WiFi":"invalid profile name"}}``; a name that
  is no saved profile is 422. Names are taken from the URL path as they are (percent-decoded), any
  characters: they are data.

Additions (documented in the README): ``POST .../wifi/interface/:uuid/connect`` with ``{"ssid": ...}``
or ``{"ssidHex": ...}`` (a non-UTF-8 SSID, as the scan shows it) and ``"passphrase"`` (omit or null for
an open network) joins the network and answers 201 ``{"profileName", "confirmation"}``. Deleting a
profile and joining a network are made under the confirmation window like every network change
(``portald.change_window``); their bodies carry ``"confirmation"``.
"""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, jsonify
from werkzeug.routing import BaseConverter
from pydantic import Field, model_validator

from portald.app_context import identity
from portald.drivers import NotFound
from portald.errors import AreaError, hardware_errors
from portald.openapi_decl import AREA_ERROR, JSON, accepts, answers, links
from portald.validation import Body, parse_body

AREA = "WiFi"
OWNER = "wifi"


class ConnectBody(Body):
    ssid: str | None = Field(None, min_length=1, max_length=32)
    ssidHex: str | None = Field(None, min_length=2, max_length=64, pattern=r"^([0-9a-fA-F]{2})+$")
    passphrase: str | None = Field(None, min_length=8, max_length=64)

    @model_validator(mode="after")
    def _one_ssid(self):
        if (self.ssid is None) == (self.ssidHex is None):
            raise ValueError("give exactly one of ssid and ssidHex")
        if self.ssid is not None and len(self.ssid.encode()) > 32:
            raise ValueError("ssid is longer than 32 bytes")
        if self.passphrase is not None and len(self.passphrase) == 64 and not all(
                c in "0123456789abcdefABCDEF" for c in self.passphrase):
            raise ValueError("a 64-character passphrase must be a hex key")
        return self

    def ssid_bytes(self) -> bytes:
        return self.ssid.encode() if self.ssid is not None else bytes.fromhex(self.ssidHex)


class AnyText(BaseConverter):
    """A path segment and beyond with any characters, newlines too (werkzeug's ``path`` stops at one):
    a profile name is data, so every name reaches the view and gets its answer."""
    regex = r"[\s\S]+"
    part_isolating = False


def blueprint(ctx) -> Blueprint:
    bp = Blueprint("wifi", __name__, url_prefix="/platform/api/networking/wifi")
    bp.record_once(lambda state: state.app.url_map.converters.setdefault("anytext", AnyText))
    window = ctx.change_window

    def driver():
        found = ctx.driver("wifi")
        if found is None:
            raise AreaError(AREA, "no Wi-Fi adapter")
        return found

    def adapter(uuid: str) -> dict:
        with hardware_errors(AREA, "cannot read the Wi-Fi adapters"):
            found = driver().interfaces()
        for item in found:
            if item["uuid"] == uuid:
                return item
        raise AreaError(AREA, f"no Wi-Fi adapter has uuid {uuid!r}")

    def changed(what: str, apply: Callable[[], Any]) -> tuple[Any, dict]:
        wifi = driver()
        with hardware_errors(AREA, f"{what} failed, the previous profiles were restored"):
            try:
                return window.change(OWNER, wifi.snapshot, apply, identity().user, what)
            except NotFound as exc:
                raise AreaError(AREA, str(exc) or "not found") from None

    @bp.get("/interfaces")
    @links(networks=("wifi.networks", "GET", {"uuid": "$response.body#/0/uuid"}),
           connect=("wifi.connect", "POST", {"uuid": "$response.body#/0/uuid"}),
           delete_profile=("wifi.delete_profile", "DELETE", {"uuid": "$response.body#/0/uuid",
                                                            "name": "$response.body#/0/profiles/0/name"}))
    def interfaces():
        wifi = ctx.driver("wifi")
        if wifi is None:
            return jsonify([])
        with hardware_errors(AREA, "cannot read the Wi-Fi adapters"):
            return jsonify(sorted(wifi.interfaces(), key=lambda item: item["ifIndex"]))

    @bp.get("/networks/<path:uuid>")
    def networks(uuid: str):
        adapter(uuid)
        with hardware_errors(AREA, "scan failed"):
            try:
                return jsonify(driver().scan(uuid))
            except NotFound as exc:
                raise AreaError(AREA, str(exc) or f"no Wi-Fi adapter has uuid {uuid!r}") from None

    @bp.delete("/interface/<uuid>/profile")
    @bp.delete("/interface/<uuid>/profile/")
    @answers({400: AREA_ERROR})
    def delete_without_name(uuid: str):
        raise AreaError(AREA, "invalid profile name", 400)

    @bp.delete("/interface/<uuid>/profile/<anytext:name>")
    @answers({400: AREA_ERROR})
    def delete_profile(uuid: str, name: str):
        if not name.strip():
            raise AreaError(AREA, "invalid profile name", 400)
        found = adapter(uuid)
        if not any(profile["name"] == name for profile in found["profiles"]):
            raise AreaError(AREA, f"{uuid} has no profile {name!r}")
        _, pending = changed(f"delete Wi-Fi profile {name!r} of {uuid}", lambda: driver().delete_profile(uuid, name))
        return jsonify({"confirmation": pending})

    @bp.post("/interface/<uuid>/connect")
    @accepts(ConnectBody)
    @answers({201: JSON})
    @links(201, confirm=("networking_changes.confirm", "POST", {"change_id": "$response.body#/confirmation/id"}))
    def connect(uuid: str):
        body = parse_body(ConnectBody)
        adapter(uuid)
        ssid = body.ssid_bytes()
        shown = body.ssid if body.ssid is not None else ssid.decode("utf-8", "replace")
        profile, pending = changed(f"join Wi-Fi network {shown!r} on {uuid}",
                                   lambda: driver().connect(uuid, ssid, body.passphrase))
        return jsonify({"profileName": profile, "confirmation": pending}), 201

    return bp
