"""The ``/platform/api/host`` routes: host information, display count and screenshots.

Where the spec is vague:

* ``/screenshot/:index`` is 0-based (the spec does not say; display count ``1`` then means index 0, as
  with any array). An index that is not a plain decimal integer (``-1``, ``1.5``, ``x``) and an index with
  no display behind it are both the spec's 422 ``{"errors": {"Host": ...}}``, as is a display that
  cannot be reached: the spec lists no other error for these routes.
* ``/screenshot/:index/file`` sends the PNG ``inline`` with a file name, so a browser shows it and a
  "save as" gets a sensible name.
"""
from __future__ import annotations

import base64
import re
from collections.abc import Callable

from flask import Blueprint, Response, jsonify

from portald.drivers import DriverError
from portald.errors import AreaError
from portald.openapi_decl import answers

# Nine digits are far more displays than any machine has and keep int() trivially cheap.
INDEX = re.compile(r"[0-9]{1,9}")


def _index(raw: str) -> int:
    if not INDEX.fullmatch(raw):
        raise AreaError("Host", f"invalid display index {raw[:20]!r}: expected a number from 0")
    return int(raw)


def blueprint(info: Callable[[], dict], count: Callable[[], int],
              screenshot: Callable[[int], bytes]) -> Blueprint:
    """``screenshot(index)`` gives a PNG or raises the display driver's errors."""
    bp = Blueprint("host", __name__, url_prefix="/platform/api/host")

    def png(raw_index: str) -> bytes:
        try:
            return screenshot(_index(raw_index))
        except DriverError as exc:  # no such display, or it cannot be captured
            raise AreaError("Host", str(exc)) from None
        except OSError as exc:  # the display did not answer in time, or is still stuck in an earlier call
            raise AreaError("Host", exc.strerror or str(exc)) from None

    @bp.get("/info")
    def host_info():
        return jsonify(info())

    @bp.get("/display/count")
    def display_count():
        return jsonify(count())

    @bp.get("/screenshot/<raw_index>")
    def screenshot_json(raw_index: str):
        data = base64.b64encode(png(raw_index)).decode("ascii")
        return jsonify({"data": data, "mediaType": "image/png"})

    @bp.get("/screenshot/<raw_index>/file")
    @answers({200: "image/png"})
    def screenshot_file(raw_index: str):
        response = Response(png(raw_index), mimetype="image/png")
        response.headers["Content-Disposition"] = f'inline; filename="screenshot-{int(raw_index)}.png"'
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp
