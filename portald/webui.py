"""Serving the built web UI (``webui/``, built by ``webui/build.sh`` into ``portald/webui_dist/``):
``index.html`` at ``/`` and the bundles under ``/ui/assets/<name>.<hash>.<ext>``.

The bundles' names carry a hash of their content, so they are cached for a year (``immutable``) and a
new build is picked up by the next load of ``index.html``, which is never cached (``no-cache``). The
build writes a ``.gz`` beside every file; a client that accepts gzip gets it as it is (nothing is
compressed per request). ``index.html`` gets a strict Content-Security-Policy: scripts, styles, images
and connections (``ws:``/``wss:`` to this same host included, for the terminal and remote desktop) from
this origin only. When the UI was not built, :func:`index_response` answers ``None`` and ``GET /``
serves its short text page instead.
"""
from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Response, request

from .auth.privileges import PUBLIC, privilege
from .errors import NotSupported
from .openapi_decl import answers

DIST = Path(__file__).parent / "webui_dist"
ASSET = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.(?:js|css|woff2|svg|png)")
IMMUTABLE = "public, max-age=31536000, immutable"
TYPES = {".js": "text/javascript", ".css": "text/css", ".woff2": "font/woff2", ".svg": "image/svg+xml",
         ".png": "image/png"}


def csp(host: str) -> str:
    """The page's policy. ``'self'`` covers same-origin WebSockets in current browsers only, so the
    host (already checked against the allow-list by ``request_guards.HostAllowList``) is named with
    ``ws:``/``wss:`` too. xterm.js and uPlot set element styles from script, hence ``style-src``
    allows inline styles (never inline scripts)."""
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self'; "
            f"connect-src 'self' ws://{host} wss://{host}; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _read(path: Path) -> tuple[bytes, str | None]:
    """The file, or its pre-compressed ``.gz`` sibling when the client takes gzip."""
    gz = path.with_name(path.name + ".gz")
    if "gzip" in request.headers.get("Accept-Encoding", "") and gz.is_file():
        return gz.read_bytes(), "gzip"
    return path.read_bytes(), None


def _response(path: Path, mimetype: str, cache: str) -> Response:
    body, encoding = _read(path)
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = cache
    response.headers["Vary"] = "Accept-Encoding"
    if encoding:
        response.headers["Content-Encoding"] = encoding
    return response


def index_response(dist: Path | None = None) -> Response | None:
    index = (dist or DIST) / "index.html"
    if not index.is_file():
        return None
    response = _response(index, "text/html", "no-cache")
    response.headers["Content-Security-Policy"] = csp(request.host)
    return response


def blueprint(dist: Path | None = None) -> Blueprint:
    dist = dist or DIST
    bp = Blueprint("webui", __name__, url_prefix="/ui")

    @bp.get("/assets/<name>")
    @privilege(PUBLIC)
    @answers({200: tuple(sorted(set(TYPES.values())))})
    def asset(name: str):
        """A bundle of the UI by its hashed name; anything else (no such file, a path) is a 404."""
        path = dist / "assets" / name
        if not ASSET.fullmatch(name) or not path.is_file():
            raise NotSupported("no such file")
        return _response(path, TYPES[path.suffix], IMMUTABLE)  # ASSET admits only these suffixes

    return bp
