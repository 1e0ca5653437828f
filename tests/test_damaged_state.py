"""Damaged state files (a failing flash chip, a bad restore) never keep the daemon down, and never
open the admin account to the factory password."""
from __future__ import annotations

from conftest import ADMIN_PASSWORD, admin_token, bearer, login


def test_damaged_admin_record_refuses_admin_logins_but_daemon_serves(make_app, tmp_path):
    app = make_app()
    admin_token(app.test_client())
    app.extensions["portald"].shutdown()
    (tmp_path / "state" / "admin-password.json").write_text('{"generation": 3, "hash": "%%%", ')
    client = make_app().test_client()
    assert client.get("/platform/api/ping").data == b"pong"
    assert login(client, "admin", "p@ssw0rd").status_code == 401
    assert login(client, "admin", ADMIN_PASSWORD).status_code == 401


def test_removing_the_damaged_admin_record_resets_to_the_default(make_app, tmp_path):
    app = make_app()
    admin_token(app.test_client())
    app.extensions["portald"].shutdown()
    record = tmp_path / "state" / "admin-password.json"
    record.write_text("not json")
    damaged = make_app()
    assert login(damaged.test_client(), "admin", "p@ssw0rd").status_code == 401
    damaged.extensions["portald"].shutdown()
    record.unlink()
    assert login(make_app().test_client(), "admin", "p@ssw0rd").status_code == 200


def test_damaged_revocation_database_is_set_aside(make_app, tmp_path):
    make_app().extensions["portald"].shutdown()
    state = tmp_path / "state"
    for name in ("auth.db-wal", "auth.db-shm"):
        (state / name).unlink(missing_ok=True)
    (state / "auth.db").write_bytes(b"this is not an sqlite database" * 100)
    app = make_app()
    client = app.test_client()
    token = admin_token(client)
    assert client.post("/auth/logout", headers=bearer(token)).status_code == 200
    assert client.get("/platform/api/hwmon", headers=bearer(token)).status_code == 401
    assert list(state.glob("auth.db.damaged-*"))


def test_damaged_signing_key_is_replaced(make_app, tmp_path):
    make_app().extensions["portald"].shutdown()
    (tmp_path / "state" / "jwt-key.pem").write_text("-----BEGIN PRIVATE KEY-----\ngarbage\n")
    client = make_app().test_client()
    assert client.get("/platform/api/hwmon", headers=bearer(admin_token(client))).status_code == 200
