"""OS-account logins (m=0) through real PAM with real accounts made by useradd/chpasswd."""
from __future__ import annotations

import subprocess

import jwt

from conftest import basic, bearer, login


def test_os_user_logs_in_with_role_user(client, os_user_factory):
    user = os_user_factory()
    response = login(client, user.name, user.password, m=0)
    assert response.status_code == 200, response.get_json()
    claims = jwt.decode(response.get_json()["token"], options={"verify_signature": False})
    assert claims["sub"] == user.name and claims["m"] == 0 and claims["role"] == "user"
    assert client.get("/platform/api/hwmon", headers=bearer(response.get_json()["token"])).status_code == 200


def test_default_account_type_is_os_account(client, os_user_factory):
    user = os_user_factory()
    assert client.post("/auth/login", json={"username": user.name, "password": user.password}).status_code == 200
    assert client.get("/auth/token", headers=basic(user.name, user.password)).status_code == 200


def test_os_user_wrong_password_is_401(client, os_user_factory):
    user = os_user_factory()
    response = login(client, user.name, user.password + "x", m=0)
    assert response.status_code == 401 and response.get_json()["Code"] == 401


def test_unknown_os_user_is_401(client):
    assert login(client, "no-such-user-pdt", "whatever", m=0).status_code == 401


def test_sudo_member_gets_admin_role(client, os_user_factory):
    user = os_user_factory(groups=["sudo"])
    token = login(client, user.name, user.password, m=0).get_json()["token"]
    assert jwt.decode(token, options={"verify_signature": False})["role"] == "admin"


def test_os_user_cannot_use_admin_account_routes(client, os_user_factory):
    user = os_user_factory()
    token = login(client, user.name, user.password, m=0).get_json()["token"]
    response = client.delete("/auth/user/admin/password", headers=bearer(token))
    assert response.status_code == 403 and response.get_json()["Code"] == 403


def test_expired_account_is_refused_by_pam_account_check(client, os_user_factory):
    user = os_user_factory()
    subprocess.run(["chage", "-E", "0", user.name], check=True)
    assert login(client, user.name, user.password, m=0).status_code == 401


def test_locked_account_is_refused(client, os_user_factory):
    user = os_user_factory()
    subprocess.run(["usermod", "-L", user.name], check=True)
    assert login(client, user.name, user.password, m=0).status_code == 401


def test_os_account_named_admin_is_not_the_admin_account(client):
    """m=0 with "admin" goes to PAM, never to the built-in account's default password."""
    assert login(client, "admin", "p@ssw0rd", m=0).status_code == 401


def test_removed_admin_group_member_loses_admin_rights_before_the_token_expires(client, os_user_factory,
                                                                                    monkeypatch):
    from portald.auth import service

    monkeypatch.setattr(service, "ROLE_CACHE_SECONDS", 0.0)
    user = os_user_factory(groups=["sudo"])
    token = login(client, user.name, user.password, m=0).get_json()["token"]
    bad_body = {"action": "explode"}  # an admin gets past the guard to the body check (422)
    assert client.put("/platform/api/service/ssh", json=bad_body, headers=bearer(token)).status_code == 422
    subprocess.run(["gpasswd", "-d", user.name, "sudo"], check=True, capture_output=True)
    response = client.put("/platform/api/service/ssh", json=bad_body, headers=bearer(token))
    assert response.status_code == 403


def test_deleted_account_token_stops_working(client, os_user_factory, monkeypatch):
    from portald.auth import service

    monkeypatch.setattr(service, "ROLE_CACHE_SECONDS", 0.0)
    user = os_user_factory()
    token = login(client, user.name, user.password, m=0).get_json()["token"]
    assert client.get("/platform/api/hwmon", headers=bearer(token)).status_code == 200
    subprocess.run(["userdel", user.name], check=True)
    assert client.get("/platform/api/hwmon", headers=bearer(token)).status_code == 401


def test_failed_pam_check_does_not_sleep_in_its_thread(os_user_factory):
    """libpam's fail delay (~2 s) is reported to the caller, not slept out in the threadpool thread."""
    import time

    from portald.auth import os_accounts

    user = os_user_factory()
    os_accounts.preload()
    start = time.monotonic()
    ok, delay = os_accounts.authenticate("portald", user.name, user.password + "x")
    assert not ok and delay > 0.5 and time.monotonic() - start < 1.0
    assert os_accounts.authenticate("portald", user.name, user.password) == (True, 0.0)


def test_failed_pam_login_is_still_answered_after_pams_delay(client, os_user_factory):
    import time

    user = os_user_factory()
    start = time.monotonic()
    assert login(client, user.name, "wrong", m=0).status_code == 401
    assert time.monotonic() - start > 1.0  # the caller still waits (in its greenlet)


def test_pam_flood_does_not_hold_up_the_admin_login(make_app, os_user_factory):
    import time

    import gevent

    client = make_app(auth={"max_attempts_per_address": 4}).test_client()
    user = os_user_factory()
    flood = [gevent.spawn(client.post, "/auth/login?m=0", json={"username": user.name, "password": f"x{i}"},
                          environ_base={"REMOTE_ADDR": f"127.0.0.{2 + i % 5}"}) for i in range(20)]
    gevent.sleep(0.5)
    start = time.monotonic()
    assert login(client, "admin", "p@ssw0rd").status_code == 200
    assert login(client, user.name, user.password, m=0).status_code == 200
    assert time.monotonic() - start < 2.0
    assert all(job.get(timeout=60).status_code in (401, 429) for job in flood)
