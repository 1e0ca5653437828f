"""The audit log: one line for every request that may change the device, and every login attempt.

Audited: every POST, PUT, PATCH and DELETE (answered or refused: a 401'd or 403'd write is logged too,
and so is a write no route matched), every login (``POST /auth/login``, ``GET /auth/token``; failed
and refused ones too) and every WebSocket opened (the terminal, remote desktop: logged when the
upgrade is accepted, with status 101; a refused upgrade with its HTTP status). Reads are not.

A line is one JSON object (stable key order)::

    {"time": "2026-12-02T05:33:42.123+00:00", "event": "request", "user": "admin", "role": "admin",
     "address": "192.0.2.7", "method": "PUT", "route": "/platform/api/gpio/<int:pin>",
     "path": "/platform/api/gpio/3", "status": 200}

``event`` is ``login``, ``websocket`` or ``request``; ``user`` the token's user, for a login the
username tried (known or not), ``null`` when the request carried no valid token; ``role`` ``admin``
or ``user`` (``null`` when unknown); ``address`` the client's (``auth.trusted_proxies`` decides
whether ``X-Forwarded-For`` counts); ``route`` Flask's URL rule (``null`` when none matched) and
``path`` the path asked (never the query string, which may carry ``?token=``). Never written:
passwords, tokens, cookies, request bodies.

Where (``[audit]``): ``file = ""`` (default) writes ``<state_dir>/audit.log`` — it exists wherever the
daemon runs (a checkout, a package, a test), is as private as the state dir (0700; the file itself
is 0600: it names accounts and addresses) and is removed with the state on purge. A path writes
there (``/var/log/portald/audit.log``: its folder is made 0700 when missing). Rotated at
``max_bytes``, keeping ``backup_count`` old files (``audit.log.1`` is the newest). The file is opened
for each line, so a logrotate that moves it away is harmless. ``file = "-"`` sends the lines to the
``portald.audit`` logger instead, i.e. to stderr with the daemon's log, which systemd puts into the
journal (``journalctl -u portald | grep portald.audit``).
"""
from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone
from logging.handlers import RotatingFileHandler
from pathlib import Path

from flask import Flask, Response, current_app, g, request

from . import websocket
from .auth import privileges
from .auth.privileges import READ_METHODS
from .validation import json_body

log = logging.getLogger("portald.audit")

LOGIN_ENDPOINTS = frozenset({"auth.login", "auth.token"})
MAX_NAME = 256  # an attempted username is cut here (the login body allows 256)


class AuditFileHandler(RotatingFileHandler):
    """``RotatingFileHandler`` whose files are 0600 and which closes its file after every line."""

    def __init__(self, path: Path, max_bytes: int, backup_count: int):
        super().__init__(path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8", delay=True)
        self._problem = ""

    def _open(self):
        return open(self.baseFilename, self.mode, encoding=self.encoding,
                    opener=lambda path, flags: os.open(path, flags, 0o600))

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)  # opens, rotates when due, writes (under the handler's lock)
        if self.stream is not None:
            self.stream.close()
            self.stream = None

    def handleError(self, record: logging.LogRecord) -> None:
        # a full disk or a removed folder: said once per distinct problem, never a traceback per line
        import sys

        problem = str(sys.exc_info()[1])
        if problem != self._problem:
            self._problem = problem
            log.error("the audit log %s cannot be written: %s", self.baseFilename, problem)


class AuditLog:
    def __init__(self, core):
        config = core.config.audit
        self.auth = core.auth
        if config.file == "-":
            self.where = "the portald.audit logger (stderr)"
            self.logger = log
            self.logger.setLevel(logging.INFO)  # audit lines pass whatever log_level says
        else:
            path = Path(config.file) if config.file else Path(core.config.state_dir) / "audit.log"
            self.where = str(path)
            try:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                log.error("the audit log's folder %s cannot be made: %s", path.parent, exc.strerror or exc)
            # a logger of this app alone (not in logging's tree): two apps in one process keep two files
            self.logger = logging.Logger("portald.audit", logging.INFO)
            handler = AuditFileHandler(path, config.max_bytes, config.backup_count)
            handler.setFormatter(logging.Formatter("%(message)s"))
            self.logger.addHandler(handler)

    def write(self, event: str, status: int, user: str | None, role: str | None) -> None:
        rule = request.url_rule
        line = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "event": event,
            "user": user[:MAX_NAME] if isinstance(user, str) else None,
            "role": role,
            "address": self.auth.client_address.of(request),
            "method": request.method,
            "route": rule.rule if rule is not None else None,
            "path": request.path,
            "status": status,
        }
        # json: a newline or quote in an attempted username cannot forge a line
        self.logger.info(json.dumps(line, ensure_ascii=False))

    # -- the request hooks ---------------------------------------------------------------------------
    def before(self) -> None:
        """Before a view of ``/auth``: its public writes (logout revokes the token it carries) tell who
        made them while the token is still valid."""
        if request.method not in READ_METHODS and "identity" not in g and request.endpoint not in LOGIN_ENDPOINTS:
            g.audit_identity = self._identify()

    def _identify(self):
        """The caller of a public write (no guard ran), or None."""
        try:
            return self.auth.identify(request)
        except Exception:
            return None

    def after(self, response: Response) -> Response:
        try:
            self._record(response)
        except Exception:  # the audit must never turn an answered request into a 500
            log.exception("no audit line for %s %s", request.method, request.path)
        return response

    def _record(self, response: Response) -> None:
        req = request._get_current_object()  # one proxy lookup instead of one per attribute
        if req.method in READ_METHODS:  # the usual case, kept cheap: a login by Basic, or an upgrade
            if req.endpoint in LOGIN_ENDPOINTS:
                self._login(response)
            elif "HTTP_UPGRADE" in req.environ and websocket.is_upgrade(req) and not isinstance(response, websocket._Upgraded):
                who = g.get("identity")
                self.write("websocket", response.status_code, who.user if who else None, who.role if who else None)
        elif req.endpoint in LOGIN_ENDPOINTS:
            self._login(response)
        else:
            who = g.get("identity") or g.get("audit_identity") or self._public_caller(req)
            self.write("request", response.status_code, who.user if who else None, who.role if who else None)

    def _public_caller(self, req):
        """Who made a public write outside ``/auth`` (a plugin's), when it carried a valid token; a
        write the guard refused (no endpoint or a protected one) is nobody's."""
        view = current_app.view_functions.get(req.endpoint) if req.endpoint else None
        if view is None or privileges.required(view, req.method) != privileges.PUBLIC:
            return None
        return self._identify()

    def websocket_opened(self) -> None:
        """Called by ``portald.websocket.serve`` once an upgrade is accepted."""
        who = g.get("identity")
        self.write("websocket", 101, who.user if who else None, who.role if who else None)

    def _login(self, response: Response) -> None:
        if request.endpoint == "auth.token":
            credentials = request.authorization
            user = credentials.username if credentials is not None else None
        else:
            try:  # the body as the view read it (UTF-8, depth-checked JSON); the username only
                body = json_body()
            except Exception:  # not JSON, too deep, or past the size cap (413): no username to tell
                body = None
            user = body.get("username") if isinstance(body, dict) else None
        # the new token's identity, as the login view got it (the token itself is never written)
        who = g.get("logged_in") if response.status_code == 200 else None
        role = who.role if who is not None else None
        self.write("login", response.status_code, user if isinstance(user, str) else None, role)


def install(app: Flask, core) -> AuditLog:
    """Build the app's ``AuditLog`` and hook it into every request (call after the privilege guard)."""
    audit = AuditLog(core)
    app.extensions["portald.audit"] = audit
    # only /auth's views: every other request is spared a call (a plugin's public write is looked
    # up after its view instead)
    app.before_request_funcs.setdefault("auth", []).append(audit.before)
    app.after_request(audit.after)
    logging.getLogger("portald").info("audit log: %s", audit.where)  # portald.audit carries audit lines only
    return audit
