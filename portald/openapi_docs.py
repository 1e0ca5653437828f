"""``GET /docs``: the interactive API docs (Swagger UI on ``/openapi.json``, with a login form), served
by the daemon from ``portald/docs_ui_dist/`` — built by ``packaging/build-docs-ui`` (``make docs-ui``)
from ``docs-ui/``, never committed, never fetched from a CDN.

Only the files the build writes are served, by name, under a Content-Security-Policy that allows this
origin alone (no inline script, no other host). A client that takes gzip gets the build's ``.gz``
as it is; every file carries an ETag, so a reload costs a 304. When the docs were not built (a checkout
run without ``make docs-ui``) every docs URL is a 404 ``{"message": ...}`` saying how to build them.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, request

from .auth.privileges import PUBLIC, privilege
from .errors import ApiError
from .openapi_decl import MESSAGE, answers

DIST = Path(__file__).parent / "docs_ui_dist"
FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
         "portald-docs.js": "text/javascript", "portald-docs.css": "text/css", "favicon-32x32.png": "image/png"}
CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
NOT_BUILT = "docs not built: run make docs-ui (packaging/build-docs-ui)"


def blueprint(dist: Path = DIST) -> Blueprint:
    bp = Blueprint("docs", __name__, url_prefix="/docs")

    @bp.get("")
    @privilege(PUBLIC)
    @answers({200: "text/html", 404: MESSAGE})
    def page():
        """The interactive docs page: log in, then try any call."""
        response = _file(dist, "index.html", "text/html")
        response.headers["Content-Security-Policy"] = CSP
        return response

    @bp.get("/<name>")
    @privilege(PUBLIC)
    @answers({200: ("text/javascript", "text/css", "image/png"), 404: MESSAGE})
    def asset(name: str):
        """A script, style sheet or icon of the docs page."""
        if name not in FILES:
            raise ApiError("no such file", 404)
        return _file(dist, name, FILES[name])

    return bp


def _file(dist: Path, name: str, mimetype: str) -> Response:
    path = dist / name
    gz = dist / (name + ".gz")
    encoding = "gzip" if "gzip" in request.headers.get("Accept-Encoding", "") and gz.is_file() else None
    try:
        source = gz if encoding else path
        stat = source.stat()
        body = source.read_bytes()
    except FileNotFoundError:
        raise ApiError(NOT_BUILT, 404) from None
    response = Response(body, mimetype=mimetype)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "no-cache"
    response.set_etag(f"{stat.st_mtime_ns:x}-{stat.st_size:x}-{encoding or 'identity'}")
    return response.make_conditional(request)
