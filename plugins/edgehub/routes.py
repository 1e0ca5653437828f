"""The ``/edgehub/api`` routes of the cloud link: ``macaddr``, ``conncfg``, ``connection``, ``data``,
``pem/temp`` and ``bootstrap/config``.

Errors are the spec's ``{"message": ...}``: 400 for a malformed tag-data body, 404 when there is no
MAC or no connection setting, 422 for a connection setting or an ``op`` that cannot be applied.
``GET /connection`` answers the spec's four fields plus two additions: ``outbox`` (``depth``,
``maxMessages``, ``dropped``, ``duplicates``, ``rejected``) and ``lastError``.
``POST /data`` is open to any logged-in user (applications on the device send tags with an OS account);
the connection setting and the link are the administrator's.
"""
from __future__ import annotations

import json
import math
import time

from flask import Blueprint, Response, jsonify, request

from portald.auth.privileges import USER, privilege
from portald.errors import ApiError, AreaError
from portald.openapi_decl import MESSAGE, accepts, answers
from portald.validation import json_body

from . import bootstrap
from . import conncfg as cc
from .macaddr import mac_address

OPS = ("connect", "disconnect")


def _body(status: int):
    try:
        return json_body()
    except AreaError as exc:
        raise ApiError(exc.message, status) from None


def _conncfg(data, stored):
    try:
        return cc.keep_masked(cc.parse(data), stored)
    except cc.InvalidConnCfg as exc:
        raise ApiError(f"invalid connection setting: {exc}", 422) from None


def tag_payload(data) -> bytes:
    """The message published for one ``POST /data`` body: ``{"ts": <ms since the epoch>, "d": body}``."""
    if not isinstance(data, dict):
        raise ApiError("the tag data must be a JSON object", 400)
    if not data:
        raise ApiError("the tag data is empty", 400)
    for key, value in data.items():
        if not key:
            raise ApiError("a tag name is empty", 400)
        if isinstance(value, float) and not math.isfinite(value):
            raise ApiError(f"tag {key!r}: not a finite number", 400)
        if not isinstance(value, (str, int, float, bool)):
            raise ApiError(f"tag {key!r}: only strings, numbers and booleans are accepted", 400)
    return json.dumps({"ts": int(time.time() * 1000), "d": data}, separators=(",", ":")).encode()


def blueprint(service) -> Blueprint:
    bp = Blueprint("edgehub_link", __name__, url_prefix="/edgehub/api")
    bp.record_once(lambda setup: service.bind_app(setup.app))
    state = service.state

    @bp.get("/macaddr")
    def macaddr():
        mac = mac_address(service.ctx.paths)
        if mac is None:
            raise ApiError("No available data.", 404)
        return jsonify(mac)

    @bp.get("/conncfg")
    def get_conncfg():
        stored = cc.load(state)
        if stored is None:
            raise ApiError("No available data.", 404)
        return jsonify(cc.masked(stored))

    @bp.post("/conncfg")
    @accepts(dict)
    @answers({422: MESSAGE})
    def set_conncfg():
        cfg = _conncfg(_body(422), cc.load(state))
        cc.save(state, cfg)
        service.link.reconfigure()
        return jsonify(cc.masked(cfg))

    @bp.delete("/conncfg")
    @answers({200: None})
    def delete_conncfg():
        service.set_enabled(False)
        cc.delete(state)
        return Response(status=200)

    @bp.get("/connection")
    def connection():
        service.refresh_profile()
        return jsonify(service.status())

    @bp.post("/connection")
    @accepts(dict)
    @answers({200: None, 422: MESSAGE})
    def set_connection():
        body = _body(422)
        if not isinstance(body, dict) or body.get("op") not in OPS:
            raise ApiError('"op" must be "connect" or "disconnect"', 422)
        unknown = set(body) - {"op", "conncfg"}
        if unknown:
            raise ApiError(f"unknown field(s): {', '.join(sorted(unknown))}", 422)
        if body["op"] == "disconnect":
            service.set_enabled(False)
            return Response(status=200)
        stored = cc.load(state)
        if body.get("conncfg") is not None:
            stored = _conncfg(body["conncfg"], stored)
            cc.save(state, stored)
            service.link.reconfigure()
        if stored is None:
            raise ApiError("No available data: no connection setting", 404)
        service.set_enabled(True)
        return Response(status=200)

    @bp.post("/data")
    @privilege(POST=USER)
    @accepts(dict)
    @answers({201: None, 400: MESSAGE})
    def data():
        payload = tag_payload(_body(400))
        service.outbox.put("data", payload)
        return Response(status=201)

    @bp.post("/pem/temp")
    @accepts({"type": "object", "required": ["file"],
              "properties": {"file": {"type": "string", "format": "binary", "description": "a PEM file"}}},
             "multipart/form-data")
    @answers({422: MESSAGE})
    def pem_temp():
        from . import pem  # cryptography loads with the first upload, not with every daemon

        upload = request.files.get("file")
        if upload is None:
            raise ApiError('the body must be multipart/form-data with a "file" field', 422)
        try:
            return jsonify(pem.check(upload.read(pem.MAX_BYTES + 1)))
        except pem.InvalidPem as exc:
            raise ApiError(str(exc), 422) from None

    @bp.put("/bootstrap/config")
    @accepts(dict)
    @answers({201: None, 422: MESSAGE})
    def bootstrap_config():
        body = _body(422)
        try:
            if not isinstance(body, dict) or set(body) != {"tenantToken"}:
                raise bootstrap.EnrolmentFailed('the body must be {"tenantToken": "..."}')
            token = bootstrap.check_token(body["tenantToken"])
            state.write_json(bootstrap.FILE, {"tenantToken": token}, secret=True)
            device = {"mac": mac_address(service.ctx.paths), "deviceId": service.device_id(),
                      "model": service.profile().get("model:name")}
            cfg = bootstrap.enrol(service.settings.provisioning_url, token, device,
                                  service.settings.provisioning_timeout_seconds)
        except bootstrap.EnrolmentFailed as exc:
            raise ApiError(str(exc), 422) from None
        cc.save(state, cfg)
        service.link.reconfigure()
        service.set_enabled(True)
        return Response(status=201)

    return bp
