"""Every route is guarded: walking Flask's whole URL map, each non-public route answers 401
``{"Code":401,"Message":...}`` without a token, and the public routes are exactly the expected ones."""
from __future__ import annotations

import re

from portald.auth import privileges

from conftest import admin_token, bearer

EXPECTED_PUBLIC = {
    ("/auth/ping", "GET"), ("/auth/agentinfo", "GET"), ("/auth/version", "GET"), ("/auth/login", "POST"),
    ("/auth/token", "GET"), ("/auth/logout", "POST"), ("/auth/certificate", "GET"),
    ("/platform/api/ping", "GET"), ("/platform/api/agentinfo", "GET"), ("/api/ping", "GET"),
    ("/api/agentinfo", "GET"), ("/api/irtm/ping", "GET"), ("/edgehub/api/ping", "GET"),
    ("/edgehub/api/agentinfo", "GET"), ("/", "GET"),
    ("/openapi.json", "GET"), ("/docs", "GET"), ("/docs/<name>", "GET"), ("/ui/assets/<name>", "GET"),
}


def _concrete(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", "1", rule)


def test_every_protected_route_answers_401_without_token(app):
    client = app.test_client()
    table = privileges.table(app)
    assert table, "no routes?"
    checked = 0
    for rule, method, level in table:
        if level == privileges.PUBLIC:
            continue
        response = client.open(_concrete(rule), method=method)
        assert response.status_code == 401, (method, rule, response.status_code)
        body = response.get_json()
        assert body["Code"] == 401 and isinstance(body["Message"], str), (method, rule)
        checked += 1
    assert checked >= 8


def test_public_routes_are_exactly_the_expected_ones(app):
    public = {(rule, method) for rule, method, level in privileges.table(app) if level == privileges.PUBLIC}
    assert public == EXPECTED_PUBLIC


def test_undeclared_write_defaults_to_admin_and_read_to_user():
    def view():
        pass

    assert privileges.required(view, "GET") == privileges.USER
    assert privileges.required(view, "PUT") == privileges.ADMIN
    assert privileges.required(view, "DELETE") == privileges.ADMIN
    privileges.privilege(PUT=privileges.USER)(view)
    assert privileges.required(view, "PUT") == privileges.USER
    assert privileges.required(view, "POST") == privileges.ADMIN


def test_unknown_route_is_404_message_not_401(client):
    response = client.get("/platform/api/nope")
    assert response.status_code == 404 and "message" in response.get_json()


def test_wrong_method_is_405_message(client, admin_headers):
    response = client.delete("/platform/api/hwmon", headers=admin_headers)
    assert response.status_code == 405 and response.get_json() == {"message": "method not allowed"}


def test_security_headers_on_every_response(client):
    for response in (client.get("/platform/api/ping"), client.get("/platform/api/hwmon"), client.get("/x")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert "Access-Control-Allow-Origin" not in response.headers


def test_admin_role_token_reaches_user_routes(client):
    token = admin_token(client)
    assert client.get("/platform/api/plugins", headers=bearer(token)).status_code == 200


def test_security_headers_reach_errors_and_never_replace_a_views_own(make_app):
    from flask import Response

    from portald.auth.privileges import PUBLIC, privilege

    app = make_app()

    @privilege(PUBLIC)
    def framed():
        return Response("ok", headers={"X-Frame-Options": "SAMEORIGIN"})

    @privilege(PUBLIC)
    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/test/framed", view_func=framed)
    app.add_url_rule("/test/broken", view_func=broken)
    client = app.test_client()
    own = client.get("/test/framed")
    assert own.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"] and own.headers["Cache-Control"] == "no-store"
    failed = client.get("/test/broken")
    assert failed.status_code == 500 and failed.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in client.get("/platform/api/ping").headers
    secure = client.get("/platform/api/ping", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
