"""The /auth service with the built-in admin account: login, token, cookie, certificate, password
change and reset, revocation, throttling."""
from __future__ import annotations

import datetime as dt
import re

import jwt
from cryptography import x509

from conftest import ADMIN_PASSWORD, admin_token, basic, bearer, login

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def test_login_admin_default_password_returns_token_expire_and_cookie(client):
    response = login(client, "admin", "p@ssw0rd")
    assert response.status_code == 200
    body = response.get_json()
    assert body["code"] == 200 and body["token"]
    assert RFC3339.match(body["expire"])
    expire = dt.datetime.fromisoformat(body["expire"])
    assert 3500 < (expire - dt.datetime.now(dt.timezone.utc)).total_seconds() <= 3600
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"jwt={body['token']};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP in the test client


def test_cookie_is_secure_under_tls(client):
    response = client.post("/auth/login?m=2", json={"username": "admin", "password": "p@ssw0rd"},
                           base_url="https://localhost")
    assert "Secure" in response.headers["Set-Cookie"]


def test_default_password_token_only_allows_changing_it(client):
    token = login(client, "admin", "p@ssw0rd").get_json()["token"]
    client.delete_cookie("jwt")
    blocked = client.get("/platform/api/hwmon", headers=bearer(token))
    assert blocked.status_code == 403
    assert blocked.get_json()["Code"] == 403
    assert client.get("/edgehub/api/profile", headers=bearer(token)).status_code == 403
    changed = client.put("/auth/user/admin/password", json={"old": "p@ssw0rd", "new": ADMIN_PASSWORD},
                         headers=bearer(token))
    assert changed.status_code == 200
    # the old token is revoked by the change; the new password's token works everywhere
    assert client.get("/platform/api/hwmon", headers=bearer(token)).status_code == 401
    fresh = login(client, "admin", ADMIN_PASSWORD).get_json()["token"]
    assert client.get("/platform/api/hwmon", headers=bearer(fresh)).status_code == 200
    assert login(client, "admin", "p@ssw0rd").status_code == 401


def test_wrong_password_and_wrong_username_are_401_with_code_message(client):
    for response in (login(client, "admin", "nope"), login(client, "root", "p@ssw0rd")):
        assert response.status_code == 401
        body = response.get_json()
        assert body["Code"] == 401 and isinstance(body["Message"], str)


def test_login_rejects_bad_account_type(client):
    response = client.post("/auth/login?m=1", json={"username": "admin", "password": "p@ssw0rd"})
    assert response.status_code == 400
    assert response.get_json()["code"] == 400 and response.get_json()["message"]


def test_login_bad_bodies_are_422_validator(client):
    bad = [b"", b"{", b"[]", b'{"username": "admin"}', b'{"username": 1, "password": "x"}',
           b'{"username": "admin", "password": "p@ssw0rd", "extra": 1}', b"\xff\xfe"]
    for raw in bad:
        response = client.post("/auth/login?m=2", data=raw, content_type="application/json")
        assert response.status_code == 422, raw
        assert list(response.get_json()["errors"]) == ["validator"], raw


def test_token_endpoint_accepts_basic_credentials(client):
    response = client.get("/auth/token?m=2", headers=basic("admin", "p@ssw0rd"))
    assert response.status_code == 200 and response.get_json()["token"]
    assert client.get("/auth/token?m=2", headers=basic("admin", "x")).status_code == 401
    missing = client.get("/auth/token?m=2")
    assert missing.status_code == 401 and missing.get_json()["Code"] == 401


def test_token_is_es256_and_verifies_with_the_served_certificate(client):
    token = login(client, "admin", "p@ssw0rd").get_json()["token"]
    response = client.get("/auth/certificate")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"] == "attachment; filename=cert.pem.crt"
    assert response.headers["Content-Description"] == "File Transfer"
    assert response.headers["Content-Transfer-Encoding"] == "Binary"
    cert = x509.load_pem_x509_certificate(response.data)
    claims = jwt.decode(token, cert.public_key(), algorithms=["ES256"])
    assert claims["sub"] == "admin" and claims["m"] == 2 and claims["jti"]
    assert jwt.get_unverified_header(token)["alg"] == "ES256"


def test_forged_and_expired_tokens_are_401(client, app):
    good = admin_token(client)
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = jwt.encode(claims, "s" * 32, algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    service = app.extensions["portald"].auth.tokens
    claims_expired = dict(claims, exp=1, jti="x1")
    expired = jwt.encode(claims_expired, service._key_pem, algorithm="ES256")
    for token in (forged, unsigned, expired, "garbage", good[:-4] + "AAAA"):
        response = client.get("/platform/api/hwmon", headers=bearer(token))
        assert response.status_code == 401, token
        assert response.get_json()["Code"] == 401


def test_token_accepted_from_cookie(client):
    admin_token(client)
    token = login(client, "admin", ADMIN_PASSWORD).get_json()["token"]
    client.set_cookie("jwt", token)
    assert client.get("/platform/api/hwmon").status_code == 200


def test_query_token_only_for_event_streams_and_websockets(client):
    token = admin_token(client)
    assert client.get(f"/platform/api/hwmon?token={token}").status_code == 401
    streaming = client.get(f"/platform/api/hwmon?token={token}", headers={"Accept": "text/event-stream"})
    assert streaming.status_code != 401


def test_logout_revokes_token_and_clears_cookie_even_after_restart(make_app):
    app = make_app()
    client = app.test_client()
    token = admin_token(client)
    assert client.get("/platform/api/hwmon", headers=bearer(token)).status_code == 200
    response = client.post("/auth/logout", headers=bearer(token))
    assert response.status_code == 200 and response.get_json() == {"code": 200}
    assert "jwt=;" in response.headers["Set-Cookie"]
    assert client.get("/platform/api/hwmon", headers=bearer(token)).status_code == 401
    app.extensions["portald"].shutdown()
    restarted = make_app().test_client()
    assert restarted.get("/platform/api/hwmon", headers=bearer(token)).status_code == 401


def test_logout_without_token_still_succeeds(client):
    assert client.post("/auth/logout").status_code == 200


def test_password_change_wrong_old_is_400_code_message(client):
    token = login(client, "admin", "p@ssw0rd").get_json()["token"]
    response = client.put("/auth/user/admin/password", json={"old": "wrong", "new": ADMIN_PASSWORD},
                          headers=bearer(token))
    assert response.status_code == 400
    assert response.get_json() == {"code": 400, "message": "old password is incorrect"}


def test_password_change_bad_bodies_are_422_validator(client):
    token = login(client, "admin", "p@ssw0rd").get_json()["token"]
    for body in ({"old": "p@ssw0rd"}, {"old": "p@ssw0rd", "new": "short"}, {"old": "p@ssw0rd", "new": 12345678},
                 {"old": "p@ssw0rd", "new": "p@ssw0rd"}, {"old": True, "new": ADMIN_PASSWORD}):
        response = client.put("/auth/user/admin/password", json=body, headers=bearer(token))
        assert response.status_code == 422, body
        assert list(response.get_json()["errors"]) == ["validator"]


def test_password_endpoints_401_carry_both_spellings_of_the_spec(client):
    """The spec writes this 401 as {"code","message"} but every other as {"Code","Message"}."""
    for response in (client.put("/auth/user/admin/password", json={"old": "p@ssw0rd", "new": ADMIN_PASSWORD}),
                     client.delete("/auth/user/admin/password", headers=bearer("garbage"))):
        body = response.get_json()
        assert response.status_code == 401
        assert body["Code"] == body["code"] == 401 and body["Message"] == body["message"]
    other = client.get("/platform/api/hwmon").get_json()
    assert set(other) == {"Code", "Message"}


def test_password_reset_restores_default_and_revokes_tokens(client):
    token = admin_token(client)
    response = client.delete("/auth/user/admin/password", headers=bearer(token))
    assert response.status_code == 200
    assert client.get("/platform/api/hwmon", headers=bearer(token)).status_code == 401
    assert login(client, "admin", ADMIN_PASSWORD).status_code == 401
    again = login(client, "admin", "p@ssw0rd").get_json()["token"]
    assert client.get("/platform/api/hwmon", headers=bearer(again)).status_code == 403


def test_password_change_persists_across_restart(make_app):
    app = make_app()
    admin_token(app.test_client())
    app.extensions["portald"].shutdown()
    client = make_app().test_client()
    assert login(client, "admin", ADMIN_PASSWORD).status_code == 200
    assert login(client, "admin", "p@ssw0rd").status_code == 401


def test_admin_password_file_is_private(app, client):
    admin_token(client)
    state = app.extensions["portald"].state
    assert state.path("admin-password.json").stat().st_mode & 0o777 == 0o600
    assert state.path("jwt-key.pem").stat().st_mode & 0o777 == 0o600
    assert ADMIN_PASSWORD not in state.path("admin-password.json").read_text()


def test_repeated_failures_lock_account_out_with_429(make_app):
    client = make_app(auth={"max_failures": 3, "lockout_seconds": 60}).test_client()
    for _ in range(3):
        assert login(client, "admin", "wrong").status_code == 401
    locked = login(client, "admin", "p@ssw0rd")
    assert locked.status_code == 429
    assert locked.get_json()["Code"] == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 60


def test_failures_from_one_address_lock_that_address_for_other_accounts(make_app):
    client = make_app(auth={"max_failures": 3, "address_max_failures": 3}).test_client()
    for name in ("a", "b", "c"):
        login(client, name, "wrong")
    assert login(client, "admin", "p@ssw0rd").status_code == 429
    other = client.post("/auth/login?m=2", json={"username": "admin", "password": "p@ssw0rd"},
                        environ_base={"REMOTE_ADDR": "127.0.0.9"})
    assert other.status_code == 200


def test_failed_login_answer_is_delayed(make_app):
    import time

    client = make_app(auth={"failure_delay_seconds": 0.2}).test_client()
    start = time.monotonic()
    login(client, "admin", "wrong")
    login(client, "admin", "wrong")
    assert time.monotonic() - start >= 0.2 + 0.4 - 0.05


def test_version_and_agentinfo(client):
    assert client.get("/auth/version").get_json() == {"version": 1.2}
    assert client.get("/auth/agentinfo").get_json() == {"version": "v1.9.1"}
    ping = client.get("/auth/ping")
    assert ping.status_code == 200 and ping.data == b"pong"


def test_a_verified_token_still_expires(tmp_path):
    import time

    import pytest

    from portald.auth.tokens import InvalidToken, TokenService
    from portald.state import StateStore

    service = TokenService(StateStore(tmp_path), ttl_seconds=1)
    token, _ = service.issue("admin", 2, "admin", 0)
    assert service.verify(token, 0).user == "admin"
    time.sleep(1.1)
    with pytest.raises(InvalidToken):
        service.verify(token, 0)


def test_parallel_wrong_logins_cannot_outrun_the_lockout(make_app):
    """Attempts are counted before the (threadpool) check: 20 at once test at most max_failures
    passwords; the rest are refused with 429 without being checked."""
    import gevent

    client = make_app(auth={"max_failures": 3}).test_client()
    jobs = [gevent.spawn(login, client, "admin", f"guess{i}") for i in range(20)]
    codes = sorted(job.get(timeout=30).status_code for job in jobs)
    assert codes.count(401) <= 3 and codes.count(429) >= 17, codes


def test_right_password_on_the_last_allowed_try_is_not_locked_out(make_app):
    client = make_app(auth={"max_failures": 3}).test_client()
    assert login(client, "admin", "wrong1").status_code == 401
    assert login(client, "admin", "wrong2").status_code == 401
    assert login(client, "admin", "p@ssw0rd").status_code == 200
    assert login(client, "admin", "p@ssw0rd").status_code == 200


def test_wrong_old_passwords_lock_the_password_change_too(make_app):
    client = make_app(auth={"max_failures": 3}).test_client()
    token = login(client, "admin", "p@ssw0rd").get_json()["token"]
    codes = [client.put("/auth/user/admin/password", json={"old": f"x{i}", "new": ADMIN_PASSWORD},
                        headers=bearer(token)).status_code for i in range(4)]
    assert codes[:2] == [400, 400] and codes[-1] == 429, codes


def test_query_token_is_refused_on_routes_that_do_not_stream(client):
    token = admin_token(client)
    sse = {"Accept": "text/event-stream"}
    assert client.get(f"/edgehub/api/profile?token={token}", headers=sse).status_code == 401
    assert client.put(f"/platform/api/perif/led/0?token={token}", json={"status": True},
                      headers=sse).status_code == 401
    streamed = client.get(f"/platform/api/events?token={token}", headers=sse, buffered=False)
    assert streamed.status_code == 200
    streamed.close()


def test_revocation_database_is_made_by_the_first_logout(make_app, tmp_path):
    """Until something is revoked there is nothing to keep (and SQLite need not be loaded)."""
    app = make_app()
    client = app.test_client()
    token = admin_token(client)
    assert client.get("/platform/api/hwmon", headers=bearer(token)).status_code == 200
    assert not (tmp_path / "state" / "auth.db").exists()
    assert client.post("/auth/logout", headers=bearer(token)).status_code == 200
    assert (tmp_path / "state" / "auth.db").exists()
    assert client.get("/platform/api/hwmon", headers=bearer(token)).status_code == 401
