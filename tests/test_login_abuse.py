"""Logins must not be a lever against the owner (issue 8): lockouts per (account, address), an
account-wide limit that spares addresses without failures, X-Forwarded-For only from trusted proxies,
and failed/throttled attempts that hold no threadpool thread while they wait."""
from __future__ import annotations

import time

import gevent

from conftest import login


def _login_from(client, address, password, username="admin", m=2, headers=None):
    return client.post(f"/auth/login?m={m}", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address}, headers=headers or {})


def test_failures_from_one_address_do_not_lock_the_owner_out_elsewhere(make_app):
    client = make_app(auth={"max_failures": 5}).test_client()
    codes = [_login_from(client, "127.0.0.2", f"guess{i}").status_code for i in range(8)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes
    assert _login_from(client, "127.0.0.3", "p@ssw0rd").status_code == 200
    # ... and the attacker's address stays locked for that account
    assert _login_from(client, "127.0.0.2", "p@ssw0rd").status_code == 429


def test_account_wide_limit_spares_addresses_without_failures(make_app):
    client = make_app(auth={"max_failures": 3, "account_max_failures": 6, "account_lockout_seconds": 60}).test_client()
    for address in ("127.0.0.2", "127.0.0.3"):
        for i in range(3):
            _login_from(client, address, f"guess{i}")
    # the account is now locked account-wide: a new address gets one try, then 429
    assert _login_from(client, "127.0.0.4", "guess").status_code == 401
    locked = _login_from(client, "127.0.0.4", "p@ssw0rd")
    assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= 60
    # the owner, from an address without failures, gets in (and that clears the account's count)
    assert _login_from(client, "127.0.0.5", "p@ssw0rd").status_code == 200


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(make_app):
    client = make_app(auth={"max_failures": 2}).test_client()
    spoofed = {"X-Forwarded-For": "10.9.9.9"}
    for i in range(2):
        _login_from(client, "127.0.0.2", f"guess{i}", headers={"X-Forwarded-For": f"10.0.0.{i}"})
    # both failures counted against the peer, whatever the header claimed
    assert _login_from(client, "127.0.0.2", "p@ssw0rd", headers=spoofed).status_code == 429


def test_forwarded_for_names_the_client_behind_a_trusted_proxy(make_app):
    client = make_app(auth={"max_failures": 2, "trusted_proxies": ["127.0.0.0/8"]}).test_client()
    attacker = {"X-Forwarded-For": "192.0.2.7"}
    for i in range(2):
        assert _login_from(client, "127.0.0.1", f"guess{i}", headers=attacker).status_code == 401
    assert _login_from(client, "127.0.0.1", "p@ssw0rd", headers=attacker).status_code == 429
    # another client behind the same proxy (a spoofed hop left of the real one is not believed)
    owner = {"X-Forwarded-For": "192.0.2.7, 198.51.100.1"}
    assert _login_from(client, "127.0.0.1", "p@ssw0rd", headers=owner).status_code == 200


def test_bad_trusted_proxy_is_a_config_error(make_config):
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        make_config(auth={"trusted_proxies": ["not-an-address"]})
    assert "trusted_proxies" in str(info.value)


def test_concurrent_attempts_from_one_address_are_refused_early(make_app):
    """Beyond max_attempts_per_address unanswered attempts, an address gets 429 at once."""
    client = make_app(auth={"max_attempts_per_address": 1, "failure_delay_seconds": 0.5,
                            "max_failures": 50}).test_client()
    start = time.monotonic()
    jobs = [gevent.spawn(_login_from, client, "127.0.0.2", f"guess{i}") for i in range(6)]
    gevent.sleep(0.2)
    early = [job for job in jobs if job.ready()]
    codes = sorted(job.get(timeout=30).status_code for job in jobs)
    assert codes.count(401) == 1 and codes.count(429) == 5, codes
    assert len(early) == 5 and time.monotonic() - start < 5
    # the owner's address is not affected meanwhile
    assert _login_from(client, "127.0.0.3", "p@ssw0rd").status_code == 200


def test_a_failed_login_waits_out_its_delay_without_a_thread(make_app):
    """While failed logins sleep out their delay, a correct login is answered at once."""
    client = make_app(auth={"failure_delay_seconds": 2.0, "failure_delay_max_seconds": 2.0,
                            "max_attempts_per_address": 8}).test_client()
    slow = [gevent.spawn(_login_from, client, f"127.0.0.{2 + i}", "wrong") for i in range(8)]
    gevent.sleep(0.3)
    start = time.monotonic()
    assert login(client, "admin", "p@ssw0rd").status_code == 200
    assert time.monotonic() - start < 1.5
    pool = gevent.get_hub().threadpool
    assert len(pool) == 0  # no task in the pool: nobody holds a thread while sleeping
    assert [job.get(timeout=30).status_code for job in slow] == [401] * 8


def test_a_flood_of_refused_logins_is_logged_once_per_address(make_app, caplog):
    client = make_app(auth={"max_failures": 2}).test_client()
    for i in range(2):
        _login_from(client, "127.0.0.2", f"guess{i}")
    caplog.clear()
    for _ in range(50):
        assert _login_from(client, "127.0.0.2", "p@ssw0rd").status_code == 429
    refusals = [r for r in caplog.records if "login refused" in r.getMessage()]
    assert len(refusals) == 1 and "p@ssw0rd" not in caplog.text
