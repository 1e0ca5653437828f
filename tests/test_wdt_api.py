"""``/platform/api/perif/wdt`` on the sim board: the spec's shapes, privileges, petting, and what a
restart, a clean stop and a hung daemon do to an armed watchdog."""
from __future__ import annotations

import gevent
import pytest

from conftest import ADMIN_PASSWORD, FIXTURES, admin_token, bearer, login

WDT = "/platform/api/perif/wdt"
TIMEOUT = "/platform/api/perif/wdt/timeout"


def _parts(app):
    host = app.extensions["portald"].host
    return host.drivers["wdt"], host.memos["wdt"]["control"]


def _profile(client, headers):
    return client.get("/edgehub/api/profile", headers=headers).get_json()


def test_get_wdt_shows_the_sim_ec_watchdog_in_the_spec_shape(client, admin_headers):
    response = client.get(WDT, headers=admin_headers)
    assert response.status_code == 200
    data = response.get_json()
    assert list(data) == ["enabled", "type", "timeoutInSeconds", "timeoutMaxInSeconds", "timeoutMinInSeconds"]
    assert data == {"enabled": False, "type": "EC Watchdog", "timeoutInSeconds": 60,
                    "timeoutMaxInSeconds": 255, "timeoutMinInSeconds": 10}


def test_profile_has_the_wdt_keys_with_the_spec_types(client, admin_headers):
    client.put(WDT, json={"enabled": True, "seconds": 20}, headers=admin_headers)
    profile = _profile(client, admin_headers)
    assert profile["perif:wdt"] == 1 and profile["perif:wdt:enabled"] is True
    assert profile["perif:wdt:timeoutInSeconds"] == 20
    assert (profile["perif:wdt:timeoutMinInSeconds"], profile["perif:wdt:timeoutMaxInSeconds"]) == (10, 255)
    assert profile["perif:wdt:type"] == "EC"


@pytest.mark.parametrize("method,path,body", [("get", WDT, None), ("put", WDT, {"enabled": True}),
                                              ("put", TIMEOUT, {"seconds": 20})])
def test_wdt_needs_a_token(client, method, path, body):
    response = getattr(client, method)(path, json=body)
    assert response.status_code == 401 and response.get_json()["Code"] == 401


def test_os_user_can_read_the_watchdog_but_not_change_it(client, os_user_factory):
    user = os_user_factory()
    headers = bearer(login(client, user.name, user.password, m=0).get_json()["token"])
    assert client.get(WDT, headers=headers).status_code == 200
    for path, body in ((WDT, {"enabled": True}), (TIMEOUT, {"seconds": 20})):
        response = client.put(path, json=body, headers=headers)
        assert response.status_code == 403 and response.get_json()["Code"] == 403
    assert client.get(WDT, headers=headers).get_json()["enabled"] is False


def test_enable_arms_the_watchdog_and_the_daemon_pets_it(app, client, admin_headers):
    response = client.put(WDT, json={"enabled": True, "seconds": 30}, headers=admin_headers)
    assert response.status_code == 200 and response.get_json() == {"enabled": True, "seconds": 30}
    driver, control = _parts(app)
    assert driver.armed and control.pet_interval == 10 and not control.petter.dead
    assert client.get(WDT, headers=admin_headers).get_json()["enabled"] is True


def test_enable_without_seconds_keeps_the_current_timeout(client, admin_headers):
    client.put(TIMEOUT, json={"seconds": 90}, headers=admin_headers)
    response = client.put(WDT, json={"enabled": True, "seconds": None}, headers=admin_headers)
    assert response.get_json() == {"enabled": True, "seconds": 90}


def test_disable_disarms_and_stops_petting(app, client, admin_headers):
    client.put(WDT, json={"enabled": True, "seconds": 30}, headers=admin_headers)
    response = client.put(WDT, json={"enabled": False, "seconds": 45}, headers=admin_headers)
    assert response.status_code == 200 and response.get_json() == {"enabled": False, "seconds": 45}
    driver, control = _parts(app)
    assert not driver.armed and control.petter is None


def test_timeout_change_while_armed_replaces_the_petting(app, client, admin_headers):
    client.put(WDT, json={"enabled": True, "seconds": 255}, headers=admin_headers)
    driver, control = _parts(app)
    first = control.petter
    response = client.put(TIMEOUT, json={"seconds": 12}, headers=admin_headers)
    assert response.status_code == 200 and response.get_json() == {"seconds": 12}
    # petting every 85 s would let a 12 s watchdog expire: the new interval applies at once
    assert control.pet_interval == 4 and control.petter is not first and first.dead


@pytest.mark.parametrize("seconds", [9, 256, 0, -1, 10**20])
def test_out_of_range_seconds_is_422_wdt_and_changes_nothing(client, admin_headers, seconds):
    for path, body in ((WDT, {"enabled": True, "seconds": seconds}), (TIMEOUT, {"seconds": seconds})):
        response = client.put(path, json=body, headers=admin_headers)
        assert response.status_code == 422, path
        errors = response.get_json()["errors"]
        assert list(errors) == ["WDT"] and "10" in errors["WDT"] and "255" in errors["WDT"]
    assert client.get(WDT, headers=admin_headers).get_json()["enabled"] is False


@pytest.mark.parametrize("body", [{}, {"seconds": 20}, {"enabled": "yes"}, {"enabled": 1},
                                  {"enabled": None}, {"enabled": True, "seconds": True},
                                  {"enabled": True, "seconds": 15.0}, {"enabled": True, "seconds": "15"},
                                  {"enabled": True, "reboot": True}, [True], "on"])
def test_malformed_switch_body_is_422_validator(client, admin_headers, body):
    response = client.put(WDT, json=body, headers=admin_headers)
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["validator"]


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"[" * 100 + b"]" * 100])
def test_unparseable_bodies_are_422_validator(client, admin_headers, raw):
    for path in (WDT, TIMEOUT):
        response = client.put(path, data=raw, headers={**admin_headers, "Content-Type": "application/json"})
        assert response.status_code == 422 and list(response.get_json()["errors"]) == ["validator"]


@pytest.mark.parametrize("body", [{}, {"seconds": None}, {"seconds": True}, {"seconds": "20"},
                                  {"seconds": 20, "enabled": True}])
def test_malformed_timeout_body_is_422_validator(client, admin_headers, body):
    response = client.put(TIMEOUT, json=body, headers=admin_headers)
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["validator"]


def test_no_watchdog_hardware_is_404_and_profile_zero(make_app, tmp_path):
    (tmp_path / "dev").mkdir()
    app = make_app(board="auto", sysfs_root=str(FIXTURES / "cases" / "empty" / "sys"),
                   dev_root=str(tmp_path / "dev"))
    client = app.test_client()
    headers = bearer(admin_token(client))
    assert client.get(WDT, headers=headers).status_code == 404
    assert client.put(WDT, json={"enabled": True}, headers=headers).status_code == 404
    response = client.put(TIMEOUT, json={"seconds": 20}, headers=headers)
    assert response.status_code == 404 and response.get_json()["message"]
    profile = _profile(client, headers)
    assert profile["perif:wdt"] == 0 and profile["perif:wdt:enabled"] is False
    assert profile["perif:wdt:timeoutInSeconds"] == 0 and profile["perif:wdt:type"] == ""
    assert "control" not in app.extensions["portald"].host.memos.get("wdt", {})  # nothing to pet


def test_armed_watchdog_survives_a_restart_and_is_rearmed(make_app):
    first = make_app()
    client = first.test_client()
    client.put(WDT, json={"enabled": True, "seconds": 45}, headers=bearer(admin_token(client)))
    first.extensions["portald"].shutdown()
    assert not _parts(first)[0].armed  # a clean stop disarms...

    second = make_app()
    client = second.test_client()
    headers = bearer(login(client, "admin", ADMIN_PASSWORD).get_json()["token"])
    assert client.get(WDT, headers=headers).get_json()["enabled"] is True  # ...and the start re-arms
    assert client.get(WDT, headers=headers).get_json()["timeoutInSeconds"] == 45
    assert not _parts(second)[1].petter.dead


def test_disabled_watchdog_stays_disabled_after_a_restart_with_its_timeout(make_app):
    first = make_app()
    client = first.test_client()
    client.put(WDT, json={"enabled": False, "seconds": 33}, headers=bearer(admin_token(client)))
    first.extensions["portald"].shutdown()
    client = make_app().test_client()
    headers = bearer(login(client, "admin", ADMIN_PASSWORD).get_json()["token"])
    assert client.get(WDT, headers=headers).get_json() | {"type": None} == {
        "enabled": False, "type": None, "timeoutInSeconds": 33, "timeoutMaxInSeconds": 255,
        "timeoutMinInSeconds": 10}


def test_restore_on_start_false_comes_up_disarmed(make_app):
    first = make_app()
    client = first.test_client()
    client.put(WDT, json={"enabled": True, "seconds": 45}, headers=bearer(admin_token(client)))
    first.extensions["portald"].shutdown()
    second = make_app(plugins={"wdt": {"restore_on_start": False}})
    driver, control = _parts(second)
    assert not driver.armed and control.petter is None


def test_disarm_on_shutdown_false_leaves_it_armed_and_unpetted(make_app):
    app = make_app(plugins={"wdt": {"disarm_on_shutdown": False}})
    client = app.test_client()
    client.put(WDT, json={"enabled": True, "seconds": 10}, headers=bearer(admin_token(client)))
    driver, control = _parts(app)
    app.extensions["portald"].shutdown()
    assert driver.armed and control.petter is None
    last_pet = driver.last_pet
    driver.clock = lambda: last_pet + 11
    assert not driver.armed and len(driver.expiries) == 1  # the board would have reset


def test_a_hung_daemon_lets_the_sim_watchdog_expire(app, client, admin_headers):
    client.put(WDT, json={"enabled": True, "seconds": 10}, headers=admin_headers)
    driver, control = _parts(app)
    control.petter.kill()  # the event loop is stuck: nobody pets any more
    armed_at = driver.last_pet
    driver.clock = lambda: armed_at + 10.5
    assert client.get(WDT, headers=admin_headers).get_json()["enabled"] is False
    assert driver.expiries == [armed_at + 10]


def test_petting_greenlet_really_keeps_the_sim_watchdog_alive(app, client, admin_headers):
    client.put(WDT, json={"enabled": True, "seconds": 10}, headers=admin_headers)
    driver, control = _parts(app)
    armed_at = driver.last_pet
    gevent.sleep(control.pet_interval + 0.3)
    assert driver.last_pet > armed_at and driver.armed and driver.expiries == []


def test_bad_wdt_config_fails_the_plugin_with_its_reason(make_app):
    app = make_app(plugins={"wdt": {"restore_on_start": "yes"}})
    record = app.extensions["portald"].host.records["wdt"]
    assert record.state == "failed" and "restore_on_start" in record.reason
