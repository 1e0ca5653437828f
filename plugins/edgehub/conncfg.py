"""The EdgeHub connection setting (``/edgehub/api/conncfg``): its model, where it is kept, how its
secrets are masked.

One model takes both body shapes of the spec — the broker shape (``username``/``password``/``mqttHost``/
``mqttPort``/``enableTLS``/``overWebSocket``/``connectionString``/``mac``/``uuid``/``deviceon``) and the
token shape of edgehub-agent 1.1.0 (``deviceTokenCredential``/``skipCertVerify``/``caCerts``/
``iothubKey``/``iothubCert``/``mqttKey``/``mqttCert``) — since ``GET`` answers the union of both.

Secrets (``SECRET_FIELDS`` and ``deviceon.iotKey``) are stored in the plugin's state folder in a file
created 0600 and written atomically (``StateStore.write_json(secret=True)``), and are never logged.
``GET`` answers them as ``MASK``; a ``POST`` that sends ``MASK`` back for a secret keeps the stored one,
so a client can GET, edit one field and POST the document back.

``deviceTokenCredential`` is taken to be base64 of a JSON object in the broker shape (the spec does not
describe it; that is what Advantech's portal hands out as a "device token"): ``effective()`` merges it
under the explicit fields. Certificates and keys (``caCerts``, ``mqttCert``...) are PEM text or base64 of
PEM (what ``POST /edgehub/api/pem/temp`` returns).
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

FILE = "conncfg.json"
MASK = "********"
MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2}){5}$")
SECRET_FIELDS = ("password", "connectionString", "deviceTokenCredential", "iothubKey", "mqttKey")


class InvalidConnCfg(ValueError):
    """The body is not a connection setting; the message is for the client."""


class DeviceOn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    dccsUrl: str = Field("", max_length=2048)
    iotKey: str = Field("", max_length=1024)


class ConnCfg(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    username: Optional[str] = Field(None, max_length=1024)
    password: Optional[str] = Field(None, max_length=4096)
    mqttHost: Optional[str] = Field(None, max_length=255)
    mqttPort: Optional[int] = Field(None, ge=1, le=65535)
    enableTLS: Optional[bool] = None
    overWebSocket: Optional[bool] = None
    connectionString: Optional[str] = Field(None, max_length=4096)
    mac: Optional[str] = Field(None, max_length=64)
    uuid: Optional[str] = Field(None, max_length=128)
    deviceon: Optional[DeviceOn] = None
    deviceTokenCredential: Optional[str] = Field(None, max_length=65536)
    skipCertVerify: Optional[bool] = None
    caCerts: Optional[list[str]] = Field(None, max_length=32)
    iothubKey: Optional[str] = Field(None, max_length=65536)
    iothubCert: Optional[str] = Field(None, max_length=65536)
    mqttKey: Optional[str] = Field(None, max_length=65536)
    mqttCert: Optional[str] = Field(None, max_length=65536)

    @field_validator("mqttHost")
    @classmethod
    def _host(cls, value):
        if value is not None and any(ch.isspace() or ch in "/@" for ch in value):
            raise ValueError("not a host name or address")
        return value

    @field_validator("uuid")
    @classmethod
    def _uuid(cls, value):
        # it becomes the client id and a topic level: no wildcards, separators or spaces
        if value is not None and (not value or any(ch.isspace() or ch in "/#+" for ch in value)):
            raise ValueError("must be non-empty, without spaces, '/', '#' or '+'")
        return value

    @field_validator("mac")
    @classmethod
    def _mac(cls, value):
        if value is not None and not MAC.match(value):
            raise ValueError("not a MAC address (12 hex digits, optionally separated by ':' or '-')")
        return value


def parse(data: Any) -> ConnCfg:
    if not isinstance(data, dict):
        raise InvalidConnCfg("the connection setting must be a JSON object")
    try:
        return ConnCfg.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}"
                             for err in exc.errors(include_url=False))
        raise InvalidConnCfg(problems) from None


def load(state) -> ConnCfg | None:
    raw = state.read_json(FILE)
    return None if raw is None else ConnCfg.model_validate(raw)


def save(state, cfg: ConnCfg) -> None:
    state.write_json(FILE, cfg.model_dump(exclude_none=True), secret=True)


def delete(state) -> None:
    state.delete(FILE)


def masked(cfg: ConnCfg) -> dict:
    """The document ``GET`` answers: every field, secrets replaced by ``MASK`` when set."""
    out = cfg.model_dump()
    for name in SECRET_FIELDS:
        if out.get(name):
            out[name] = MASK
    if out.get("deviceon") and out["deviceon"].get("iotKey"):
        out["deviceon"]["iotKey"] = MASK
    return {key: value for key, value in out.items() if value is not None}


def keep_masked(new: ConnCfg, stored: ConnCfg | None) -> ConnCfg:
    """``new`` with every secret that came back as ``MASK`` replaced by the stored one (a mask with
    nothing stored behind it is refused: it would become the password)."""
    changes: dict[str, Any] = {}
    for name in SECRET_FIELDS:
        if getattr(new, name) == MASK:
            kept = getattr(stored, name, None) if stored is not None else None
            if kept is None:
                raise InvalidConnCfg(f"{name}: the mask {MASK!r} was sent but no secret is stored")
            changes[name] = kept
    if new.deviceon is not None and new.deviceon.iotKey == MASK:
        kept = stored.deviceon.iotKey if stored is not None and stored.deviceon is not None else ""
        if not kept:
            raise InvalidConnCfg(f"deviceon.iotKey: the mask {MASK!r} was sent but no key is stored")
        changes["deviceon"] = new.deviceon.model_copy(update={"iotKey": kept})
    return new.model_copy(update=changes) if changes else new


def effective(cfg: ConnCfg) -> ConnCfg:
    """The setting the link uses: ``deviceTokenCredential`` decoded and merged under the explicit
    fields. Raises ``InvalidConnCfg`` for a token that is not base64 of a JSON object."""
    if not cfg.deviceTokenCredential:
        return cfg
    try:
        decoded = json.loads(base64.b64decode(cfg.deviceTokenCredential, validate=True))
    except (binascii.Error, ValueError):
        raise InvalidConnCfg("deviceTokenCredential: not base64 of a JSON object") from None
    if not isinstance(decoded, dict):
        raise InvalidConnCfg("deviceTokenCredential: not base64 of a JSON object")
    decoded.pop("deviceTokenCredential", None)
    base = parse(decoded)
    explicit = cfg.model_dump(exclude_none=True, exclude={"deviceTokenCredential"})
    return base.model_copy(update={key: getattr(cfg, key) for key in explicit})


def pem_text(value: str) -> str:
    """PEM text from PEM or base64 of PEM."""
    if "-----BEGIN" in value:
        return value
    try:
        text = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        raise InvalidConnCfg("a certificate or key is neither PEM nor base64 of PEM") from None
    if "-----BEGIN" not in text:
        raise InvalidConnCfg("a certificate or key is neither PEM nor base64 of PEM")
    return text
