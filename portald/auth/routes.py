"""The ``/auth`` service: API version, login (JSON and Basic), logout, the JWT
certificate, and the admin account's password (its ping and agent info are in ``core_routes``)."""
from __future__ import annotations

import logging

import gevent
from flask import Blueprint, Response, g, jsonify, request
from pydantic import Field

from .. import versions
from ..app_context import core, identity
from ..errors import AuthError, CodeMessageError, ValidationFailed
from ..openapi_decl import AUTH_ERROR, CODE_MESSAGE, accepts, answers, query
from ..validation import Body, parse_body
from .admin_account import DEFAULT_PASSWORD, NEW_PASSWORD_MAX, NEW_PASSWORD_MIN
from .privileges import ADMIN_ACCOUNT, PUBLIC, privilege
from .service import ADMIN_ACCOUNT as M_ADMIN, OS_ACCOUNT as M_OS

log = logging.getLogger("portald.auth")
bp = Blueprint("auth", __name__, url_prefix="/auth")


class LoginBody(Body):
    username: str = Field(min_length=1, max_length=256)
    password: str = Field(max_length=1024)


class PasswordBody(Body):
    old: str = Field(max_length=1024)
    new: str = Field(min_length=NEW_PASSWORD_MIN, max_length=NEW_PASSWORD_MAX)


M_PARAM = {"type": "integer", "enum": [0, 2], "default": 0,
           "description": "0: an operating-system account (PAM), 2: the built-in admin account"}


def _method() -> int:
    raw = request.args.get("m", "0")
    if raw not in ("0", "2"):
        raise CodeMessageError("m must be 0 (OS account) or 2 (admin account)")
    return int(raw)


def _login_response(username: str, password: str, method: int) -> Response:
    auth = core().auth
    token, expire, g.logged_in = auth.login(username, password, method, auth.client_address.of(request))
    response = jsonify({"code": 200, "expire": expire.isoformat(timespec="seconds"), "token": token})
    response.set_cookie("jwt", token, max_age=core().auth.config.token_ttl_seconds, path="/",
                        httponly=True, samesite="Strict", secure=request.is_secure)
    return response


@bp.get("/version")
@privilege(PUBLIC)
def version():
    return jsonify({"version": versions.API_VERSION})


@bp.post("/login")
@privilege(PUBLIC)
@accepts(LoginBody)
@answers({400: CODE_MESSAGE, 401: AUTH_ERROR, 429: AUTH_ERROR})
@query(m=M_PARAM)
def login():
    method = _method()
    body = parse_body(LoginBody)
    return _login_response(body.username, body.password, method)


@bp.get("/token")
@privilege(PUBLIC)
@answers({400: CODE_MESSAGE, 401: AUTH_ERROR, 429: AUTH_ERROR})
@query(m=M_PARAM)
def token():
    method = _method()
    credentials = request.authorization
    if credentials is None or credentials.type != "basic" or credentials.username is None:
        raise AuthError("Basic credentials required", headers={"WWW-Authenticate": 'Basic realm="portald"'})
    return _login_response(credentials.username, credentials.password or "", method)


@bp.post("/logout")
@privilege(PUBLIC)
def logout():
    """Always 200 and clears the cookie (a client logging out with an expired token must not fail);
    a valid token is revoked for good."""
    auth = core().auth
    if auth.token_from(request):
        try:
            who = auth.identify(request)
        except AuthError:
            pass
        else:
            auth.tokens.revoke(who)
            log.info("%r logged out", who.user)
    response = jsonify({"code": 200})
    response.delete_cookie("jwt", path="/", httponly=True, samesite="Strict", secure=request.is_secure)
    return response


@bp.get("/certificate")
@privilege(PUBLIC)
@answers({200: "application/octet-stream"})
def certificate():
    return Response(core().auth.tokens.certificate_pem, headers={
        "Content-Type": "application/octet-stream",
        "Content-Description": "File Transfer",
        "Content-Transfer-Encoding": "Binary",
        "Content-Disposition": "attachment; filename=cert.pem.crt",
    })


@bp.put("/user/admin/password")
@privilege(ADMIN_ACCOUNT)
@accepts(PasswordBody)
@answers({400: CODE_MESSAGE, 429: AUTH_ERROR})
def change_admin_password():
    """200 ``{"code":200}`` on success; every admin token issued before (this one too) is revoked, so
    the client logs in again with the new password."""
    body = parse_body(PasswordBody)
    if body.new == DEFAULT_PASSWORD:
        raise ValidationFailed("new password must not be the default password")
    if body.new == body.old:
        raise ValidationFailed("new password must differ from the old one")
    auth = core().auth
    address = auth.client_address.of(request)
    account_key = f"{M_ADMIN}:admin"
    auth.refuse_if_locked(account_key, address, "admin")
    attempt = auth.throttle.attempt(account_key, address)
    pool = gevent.get_hub().threadpool
    if not pool.apply(auth.admin.verify, (body.old,)):
        auth.throttle.failed(account_key, address, attempt)
        log.warning("admin password change refused (wrong old password) from %s", address)
        raise CodeMessageError("old password is incorrect")
    auth.throttle.succeeded(account_key, address, attempt)
    pool.apply(auth.admin.set_password, (body.new,))
    log.info("admin password changed by %r from %s", identity().user, address)
    return jsonify({"code": 200})


@bp.delete("/user/admin/password")
@privilege(ADMIN_ACCOUNT)
@answers({400: CODE_MESSAGE})  # listed by the spec; nothing in this request can be malformed today
def reset_admin_password():
    core().auth.admin.reset()
    log.info("admin password reset to the default by %r from %s", identity().user, request.remote_addr)
    return jsonify({"code": 200})


__all__ = ["bp", "M_OS"]
