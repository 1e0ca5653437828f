"""``GET /api/irtm/ping``: is the configured iFactory RTM server alive?

Config ``[plugins.irtm]``: ``url`` (the RTM's ping URL, ``http://`` or ``https://``, e.g.
``http://127.0.0.1:8080/ping``) and ``timeout_seconds`` (default 3). No driver: the RTM is a service on
the network, not the device's hardware or OS. Answers ``pong`` when the RTM answers 2xx, 502 ``{"message":...}``
when it does not answer or answers an error, 503 ``{"message":...}`` when no URL is configured. Public,
like the other pings; the URL comes only from the config, never from the request.
"""
from __future__ import annotations

from flask import Blueprint, Response
from pydantic import Field, field_validator

from portald.auth.privileges import PUBLIC, privilege
from portald.capability import Capability
from portald.errors import ApiError, Unavailable
from portald.openapi_decl import MESSAGE, TEXT, answers
from portald.settings import Settings as _Settings


class Settings(_Settings):
    url: str = ""  # "": not configured (503)
    timeout_seconds: float = Field(3.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        # urllib also opens file:// and ftp:// URLs, which a ping has no business reaching
        if value and not value.lower().startswith(("http://", "https://")):
            raise ValueError(f"not an http:// or https:// URL: {value[:80]!r}")
        return value


def _ping(url: str, timeout: float) -> None:
    import urllib.error  # here, not at the top: ~0.4 MB that a daemon whose RTM is never pinged does not need
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "portald"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(1024)
    except urllib.error.HTTPError as exc:
        raise ApiError(f"iFactory RTM answered {exc.code}", 502) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ApiError(f"iFactory RTM did not answer: {reason}", 502) from None


def blueprint(ctx) -> Blueprint:
    bp = Blueprint("irtm", __name__, url_prefix="/api/irtm")

    @bp.get("/ping")
    @privilege(PUBLIC)
    @answers({200: TEXT, 502: MESSAGE, 503: MESSAGE})
    def ping():
        settings = CAPABILITY.settings(ctx)
        if not settings.url:
            raise Unavailable("iFactory RTM is not configured")
        _ping(settings.url, settings.timeout_seconds)
        return Response("pong", mimetype="text/plain")

    return bp


CAPABILITY = Capability("irtm", None, settings=Settings, blueprints=blueprint)
CAPABILITY.export(globals())
