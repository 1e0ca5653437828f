"""``GET /api/irtm/ping``: is the configured iFactory RTM server alive?

Config ``[plugins.irtm]``: ``url`` (the RTM's ping URL, e.g. ``http://127.0.0.1:8080/ping``) and
``timeout_seconds`` (default 3). Answers ``pong`` when the RTM answers 2xx, 502 ``{"message":...}``
when it does not answer or answers an error, 503 ``{"message":...}`` when no URL is configured. Public,
like the other pings; the URL comes only from the config, never from the request.
"""
from __future__ import annotations

import urllib.error
import urllib.request

from flask import Blueprint, Response

from portald.auth.privileges import PUBLIC, privilege
from portald.errors import ApiError, Unavailable
from portald.hookspecs import hookimpl


def _ping(url: str, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "portald"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(1024)
    except urllib.error.HTTPError as exc:
        raise ApiError(f"iFactory RTM answered {exc.code}", 502) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ApiError(f"iFactory RTM did not answer: {reason}", 502) from None


@hookimpl
def portald_blueprints(ctx):
    bp = Blueprint("irtm", __name__, url_prefix="/api/irtm")

    @bp.get("/ping")
    @privilege(PUBLIC)
    def ping():
        url = ctx.config.get("url", "")
        if not url:
            raise Unavailable("iFactory RTM is not configured")
        _ping(url, float(ctx.config.get("timeout_seconds", 3)))
        return Response("pong", mimetype="text/plain")

    return [bp]
