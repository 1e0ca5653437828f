"""The audit log (``portald.audit``): a JSON line per login attempt, write and WebSocket opened,
none per read, never a secret; its rotation, its mode, and ``file = "-"`` (the daemon's log)."""
from __future__ import annotations

import json
import logging
import stat

from simple_websocket import Client

from conftest import ADMIN_PASSWORD, admin_token, basic, bearer, login, write_dropin
from test_server import Daemon

KEYS = ["time", "event", "user", "role", "address", "method", "route", "path", "status"]


def _lines(app) -> list[dict]:
    path = app.extensions["portald"].config.state_dir / "audit.log"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(list(line) == KEYS for line in lines)
    return lines


def _brief(lines) -> list[tuple]:
    return [(line["event"], line["user"], line["role"], line["method"], line["route"], line["status"])
            for line in lines]


def test_logins_writes_and_refusals_are_lines_and_reads_are_not(make_app):
    app = make_app()
    client = app.test_client()
    token = admin_token(client)  # login, password change, login
    assert login(client, "admin", "wrong-Passw0rd").status_code == 401
    assert login(client, "mallory", "guess-0").status_code == 401
    assert client.get("/auth/token?m=2", headers=basic("admin", "wrong-basic-pw")).status_code == 401
    assert client.get("/platform/api/hwmon", headers=bearer(token)).status_code == 200  # a read
    assert client.post("/edgehub/api/data", headers=bearer(token), json={"n": 1}).status_code == 201
    assert client.post("/edgehub/api/data", json={"n": 2}).status_code == 401  # no token
    assert client.get("/platform/api/term/ws?token=leaky-query-token",
                      headers={"Upgrade": "websocket", "Connection": "Upgrade"}).status_code == 401
    client.set_cookie("jwt", token)
    assert client.post("/auth/logout").status_code == 200
    lines = _lines(app)
    assert _brief(lines) == [
        ("login", "admin", "admin", "POST", "/auth/login", 200),
        ("request", "admin", "admin", "PUT", "/auth/user/admin/password", 200),
        ("login", "admin", "admin", "POST", "/auth/login", 200),
        ("login", "admin", None, "POST", "/auth/login", 401),
        ("login", "mallory", None, "POST", "/auth/login", 401),
        ("login", "admin", None, "GET", "/auth/token", 401),
        ("request", "admin", "admin", "POST", "/edgehub/api/data", 201),
        ("request", None, None, "POST", "/edgehub/api/data", 401),
        ("websocket", None, None, "GET", "/platform/api/term/ws", 401),
        ("request", "admin", "admin", "POST", "/auth/logout", 200),
    ]
    assert {line["address"] for line in lines} == {"127.0.0.1"}
    assert lines[-2]["path"] == "/platform/api/term/ws"  # the path, never the query string
    text = (app.extensions["portald"].config.state_dir / "audit.log").read_text()
    for secret in ("p@ssw0rd", ADMIN_PASSWORD, "wrong-Passw0rd", "guess-0", "wrong-basic-pw", token,
                   "leaky-query-token"):
        assert secret not in text, secret


BELL = """
from flask import Blueprint
from portald.auth.privileges import PUBLIC, privilege
from portald.hookspecs import hookimpl


@hookimpl
def portald_blueprints(ctx):
    bp = Blueprint("bell", __name__)
    bp.add_url_rule("/test/bell", "ring", privilege(PUBLIC)(lambda: {"rung": True}), methods=["POST"])
    bp.add_url_rule("/test/bell/<int:n>", "tune", lambda n: {"n": n}, methods=["PUT"])  # admin
    return [bp]
"""


def test_path_and_url_rule_both_written(make_app, tmp_path):
    write_dropin(tmp_path, "bell", BELL)
    app = make_app()
    client = app.test_client()
    headers = bearer(admin_token(client))
    assert client.put("/test/bell/3", headers=headers).status_code == 200
    line = _lines(app)[-1]
    assert (line["route"], line["path"]) == ("/test/bell/<int:n>", "/test/bell/3")
    assert client.delete("/platform/api/hwmon", headers=headers).status_code == 405
    unmatched = _lines(app)[-1]
    assert (unmatched["method"], unmatched["route"], unmatched["status"]) == ("DELETE", None, 405)


def test_a_plugins_public_write_names_its_caller_when_it_has_a_token(make_app, tmp_path):
    write_dropin(tmp_path, "bell", BELL)
    app = make_app()
    client = app.test_client()
    token = admin_token(client)
    assert client.post("/test/bell").status_code == 200
    assert client.post("/test/bell", headers=bearer(token)).status_code == 200
    assert client.put("/test/bell/3").status_code == 401
    assert _brief(_lines(app)[-3:]) == [("request", None, None, "POST", "/test/bell", 200),
                                        ("request", "admin", "admin", "POST", "/test/bell", 200),
                                        ("request", None, None, "PUT", "/test/bell/<int:n>", 401)]


def test_a_username_with_a_newline_cannot_forge_a_line(make_app):
    app = make_app()
    client = app.test_client()
    forged = 'x", "user": "admin"}\n{"event": "login'
    assert login(client, forged, "pw").status_code == 401
    (line,) = _lines(app)
    assert line["user"] == forged


def test_an_upgrade_header_on_a_plain_read_is_no_websocket_line(make_app):
    app = make_app()
    client = app.test_client()
    assert client.get("/platform/api/ping", headers={"Upgrade": "websocket"}).status_code == 200
    assert login(client, "nobody", "pw").status_code == 401  # one line, so the file exists
    assert [line["event"] for line in _lines(app)] == ["login"]


def test_a_malformed_login_body_is_a_line_without_a_user(make_app):
    app = make_app()
    client = app.test_client()
    for body in ("[" * 5000 + "]" * 5000, "{not json", '{"username": 7, "password": "pw-secret-9"}'):
        response = client.post("/auth/login?m=2", data=body, content_type="application/json")
        assert response.status_code == 422, body[:20]
    assert [(line["event"], line["user"], line["status"]) for line in _lines(app)] == [("login", None, 422)] * 3


def test_audit_file_rotates_and_is_private(make_app, tmp_path):
    path = tmp_path / "logs" / "audit.log"
    app = make_app(audit={"file": str(path), "max_bytes": 4096, "backup_count": 2})
    client = app.test_client()
    for n in range(80):  # ~220 bytes a line: about five files' worth
        assert client.post("/edgehub/api/data", json={"n": n}).status_code == 401
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["audit.log", "audit.log.1", "audit.log.2"]
    for name in files:
        file = path.parent / name
        assert file.stat().st_size <= 4096
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, name
        assert all(json.loads(line)["status"] == 401 for line in file.read_text().splitlines())
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not (app.extensions["portald"].config.state_dir / "audit.log").exists()


def test_dash_sends_lines_to_the_portald_audit_logger_whatever_the_log_level(make_app, caplog):
    root = logging.getLogger()
    level, root.level = root.level, logging.WARNING  # what log_level = "warning" sets
    try:
        app = make_app(audit={"file": "-"})
        client = app.test_client()
        assert login(client, "admin", "not-it-0").status_code == 401
    finally:
        root.setLevel(level)
    (record,) = [r for r in caplog.records if r.name == "portald.audit" and r.getMessage().startswith("{")]
    assert record.levelno == logging.INFO
    assert json.loads(record.getMessage())["user"] == "admin"
    assert not (app.extensions["portald"].config.state_dir / "audit.log").exists()


ECHO = '''
from flask import Blueprint
from portald import websocket
from portald.auth.privileges import streaming
from portald.hookspecs import hookimpl


@hookimpl
def portald_blueprints(ctx):
    bp = Blueprint("auditecho", __name__)

    def run(ws):
        while True:
            ws.send(ws.receive(timeout=10))

    @websocket.route(bp, "/test/audit/ws")
    @streaming
    def echo():
        return websocket.serve(run)

    return [bp]
'''


def test_websocket_open_is_a_line_when_accepted(tmp_path):
    (tmp_path / "plugins.d").mkdir()
    (tmp_path / "plugins.d" / "auditecho.py").write_text(ECHO)
    daemon = Daemon(tmp_path, http=True)
    try:
        token = daemon.admin_token()
        ws = Client.connect(f"ws://127.0.0.1:{daemon.port}/test/audit/ws?token={token}")
        try:
            ws.send("hi")
            assert ws.receive(timeout=5) == "hi"  # the handler runs: the open was audited before it
            opened = [json.loads(line) for line in (daemon.state / "audit.log").read_text().splitlines()]
        finally:
            ws.close()
    finally:
        daemon.stop()
    line = opened[-1]
    assert (line["event"], line["user"], line["role"], line["route"], line["status"]) == \
        ("websocket", "admin", "admin", "/test/audit/ws", 101)
    text = (daemon.state / "audit.log").read_text()
    assert token not in text and text.count('"websocket"') == 1  # the close is not another line
