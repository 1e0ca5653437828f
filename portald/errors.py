"""The spec's error shapes, raised once anywhere and rendered in one place.

The Platform Portal API uses four bodies for errors, and which one a client gets depends on the area:

* auth failures: ``{"Code": 401, "Message": "..."}`` (also used for 403 and 429, which the spec does not
  define, so that a client's auth-error branch handles them the same way);
* per-area errors: ``{"errors": {"<Area>": "..."}}`` (``validator`` for malformed request bodies);
* ``{"message": "..."}`` for everything else (EdgeHub, "not supported", generic HTTP errors);
* ``{"code": 400, "message": "..."}`` on the admin-password endpoints.

Views raise one of the classes below; ``install(app)`` renders them, every werkzeug HTTP error and every
unexpected exception, so no response ever leaks a stack trace or a half-formed body.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("portald.errors")


class ApiError(Exception):
    """Base of every error a view may raise; ``body()`` is the JSON the client receives."""

    status = 500

    def __init__(self, message: str = "", status: int | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def body(self) -> dict:
        return {"message": self.message}


class AuthError(ApiError):
    """``{"Code": n, "Message": ...}``: 401 by default, also 403 and 429."""

    status = 401

    def body(self) -> dict:
        return {"Code": self.status, "Message": self.message}


class AuthErrorBothCases(AuthError):
    """The 401 of ``PUT``/``DELETE /auth/user/admin/password``, where the spec writes
    ``{"code": 401, "message": ...}`` in lower case while every other 401 is ``Code``/``Message``.
    Both spellings are sent, so a client written against either part of the spec finds its keys."""

    def body(self) -> dict:
        return {"Code": self.status, "Message": self.message, "code": self.status, "message": self.message}


class Forbidden(AuthError):
    status = 403


class TooManyAttempts(AuthError):
    status = 429


class AreaError(ApiError):
    """``{"errors": {area: message}}``, e.g. area ``"LED"`` or ``"validator"``; 422 unless told."""

    status = 422

    def __init__(self, area: str, message: str, status: int | None = None):
        super().__init__(message, status)
        self.area = area

    def body(self) -> dict:
        return {"errors": {self.area: self.message}}


class ValidationFailed(AreaError):
    """A request body or parameter that does not match its model: 422 ``{"errors":{"validator":...}}``."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__("validator", message, status)


class CodeMessageError(ApiError):
    """``{"code": n, "message": ...}``, the shape of the admin-password endpoints' 400."""

    status = 400

    def body(self) -> dict:
        return {"code": self.status, "message": self.message}


class NotSupported(ApiError):
    """The capability has no hardware behind it (the spec's "404 Not supported or no available data")."""

    status = 404

    def __init__(self, message: str = "not supported or no available data"):
        super().__init__(message)


class Unavailable(ApiError):
    status = 503


@contextmanager
def hardware_errors(area: str, what: str, status: int | None = None):
    """Turn what hardware refuses (``OSError``, ``portald.drivers.DriverError``) into the area's
    ``{"errors": {area: "<what>: <reason>"}}`` 422 (or ``status``), the spec's "applied but got errors"."""
    from .drivers import DriverError

    try:
        yield
    except OSError as exc:
        raise AreaError(area, _with_reason(what, exc.strerror or str(exc)), status) from None
    except DriverError as exc:
        raise AreaError(area, _with_reason(what, str(exc)), status) from None


def _with_reason(what: str, reason: str) -> str:
    return f"{what}: {reason}" if reason else what


def _render(err: ApiError):
    response = jsonify(err.body())
    response.status_code = err.status
    for name, value in err.headers.items():
        response.headers[name] = value
    return response


def install(app: Flask) -> None:
    """Register the one place where errors become responses."""

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError):
        return _render(err)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        messages = {413: "request body too large", 405: "method not allowed", 404: "not found"}
        message = messages.get(err.code, (err.description or err.name or "").strip())
        headers = {}
        if err.code == 405 and err.response is None:
            allowed = getattr(err, "valid_methods", None)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        return _render(ApiError(message, err.code or 500, headers))

    @app.errorhandler(OSError)
    def _hardware_failed(err: OSError):
        # a driver's I/O error that its route did not turn into the area's 422: still no 500 (the
        # hardware or the OS refused, portald did not break), and no traceback in the log
        log.warning("%s: %s", _describe_request(), err.strerror or err)
        return _render(ApiError(f"the hardware did not answer: {err.strerror or err}", 503))

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        log.exception("unhandled error in %s", _describe_request())
        return _render(ApiError("internal error", 500))


def _describe_request() -> str:
    from flask import request

    try:
        return f"{request.method} {request.path}"
    except RuntimeError:
        return "(no request)"
