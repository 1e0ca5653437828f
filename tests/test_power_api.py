"""``GET /platform/api/perif/redundant_power`` (JSON and SSE) and the ``pwrstatus`` event, on the sim
board and on the generic Linux driver over a kernel-shaped fixture tree."""
from __future__ import annotations

import json
import logging
import shutil

import gevent
import pytest

from conftest import ADMIN_PASSWORD, FIXTURES, admin_token, bearer, login, sse_frames

POWER = "/platform/api/perif/redundant_power"
SSE = {"Accept": "text/event-stream"}
BOARD = FIXTURES / "cases" / "edge-board" / "sys"
WIRING = {"vin1": {"type": "power_supply", "name": "AC1"},
          "vin2": {"type": "hwmon_alarm", "path": "nct6775/in4_alarm"}}


def _frames(response, count: int) -> list[tuple[str, dict]]:
    return [(name, json.loads(data)) for name, data in sse_frames(response, count)]


def _sim_power(app):
    return app.extensions["portald"].host.drivers["power"]


def test_sim_redundant_power_reports_both_inputs_online(client, admin_headers):
    response = client.get(POWER, headers=admin_headers)
    assert response.status_code == 200
    data = response.get_json()
    assert data == {"vin1State": 1, "vin2State": 1}
    assert all(type(value) is int for value in data.values())


def test_redundant_power_needs_a_token(client):
    for headers in ({}, SSE):
        response = client.get(POWER, headers=headers)
        assert response.status_code == 401 and response.get_json()["Code"] == 401


def test_redundant_power_is_read_only(client, admin_headers):
    assert client.put(POWER, json={"vin1State": 0}, headers=admin_headers).status_code == 405


def test_pulled_sim_input_shows_offline_and_stays_so_after_a_restart(make_app):
    first = make_app()
    client = first.test_client()
    headers = bearer(admin_token(client))
    _sim_power(first).set_input("vin2", False)
    assert client.get(POWER, headers=headers).get_json() == {"vin1State": 1, "vin2State": 0}
    first.extensions["portald"].shutdown()

    second = make_app()
    client = second.test_client()
    headers = bearer(login(client, "admin", ADMIN_PASSWORD).get_json()["token"])
    assert client.get(POWER, headers=headers).get_json() == {"vin1State": 1, "vin2State": 0}
    _sim_power(second).set_input("vin2", True)
    assert client.get(POWER, headers=headers).get_json() == {"vin1State": 1, "vin2State": 1}


def test_sim_refuses_an_input_it_does_not_have(app):
    with pytest.raises(ValueError):
        _sim_power(app).set_input("vin3", False)


def test_profile_reports_redundant_power(client, admin_headers):
    assert client.get("/edgehub/api/profile", headers=admin_headers).get_json()["perif:redundant_power"] == 1


def test_no_power_hardware_is_404_and_profile_zero(make_app):
    app = make_app(board="auto", sysfs_root=str(BOARD))  # the files exist, but nothing says which
    client = app.test_client()
    headers = bearer(admin_token(client))
    for extra in ({}, SSE):
        response = client.get(POWER, headers={**headers, **extra})
        assert response.status_code == 404 and response.get_json()["message"]
    assert client.get("/edgehub/api/profile", headers=headers).get_json()["perif:redundant_power"] == 0
    assert app.extensions["portald"].host.records["power"].state == "absent"


def test_per_resource_stream_sends_message_events_that_follow_the_inputs(make_app):
    app = make_app(plugins={"power": {"interval_seconds": 0.02}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    response = client.get(POWER, headers={**headers, **SSE}, buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert _frames(response, 1) == [("message", {"vin1State": 1, "vin2State": 1})]
    _sim_power(app).set_input("vin1", False)
    assert _frames(response, 1) == [("message", {"vin1State": 0, "vin2State": 1})]
    response.close()


def test_events_stream_carries_pwrstatus(make_app):
    app = make_app(plugins={"power": {"interval_seconds": 0.02}})
    client = app.test_client()
    token = admin_token(client)
    response = client.get(f"/platform/api/events?token={token}", headers=SSE, buffered=False)
    frames = []
    with gevent.Timeout(5):
        while not any(name == "pwrstatus" for name, _ in frames):
            frames += _frames(response, 1)
    response.close()
    assert ("pwrstatus", {"vin1State": 1, "vin2State": 1}) in frames


def test_linux_driver_serves_the_configured_wiring(make_app):
    app = make_app(board="auto", sysfs_root=str(BOARD), plugins={"linux": {"power": WIRING}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    assert client.get(POWER, headers=headers).get_json() == {"vin1State": 1, "vin2State": 0}
    assert app.extensions["portald"].host.status()["drivers"]["power"]["driver"] == "linux.power"


def test_linux_input_that_vanishes_is_404_no_available_data(make_app, tmp_path):
    shutil.copytree(BOARD, tmp_path / "sys", symlinks=True)
    app = make_app(board="auto", sysfs_root=str(tmp_path / "sys"), plugins={"linux": {"power": WIRING}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    (tmp_path / "sys" / "class" / "power_supply" / "AC1" / "online").unlink()
    response = client.get(POWER, headers=headers)
    assert response.status_code == 404 and "vin1" in response.get_json()["message"]


@pytest.mark.parametrize("wiring", [
    {"vin1": {"type": "smoke_signal"}, "vin2": WIRING["vin2"]},
    {"vin1": WIRING["vin1"]},
    {"vin1": {"type": "gpio_sysfs", "gpio": True}, "vin2": WIRING["vin2"]},
])
def test_bad_linux_wiring_is_logged_and_leaves_power_unsupported(make_app, caplog, wiring):
    with caplog.at_level(logging.ERROR):
        app = make_app(board="auto", sysfs_root=str(BOARD), plugins={"linux": {"power": wiring}})
    assert "portald_plugins.boards.linux.power" in caplog.text and "vin" in caplog.text
    client = app.test_client()
    assert client.get(POWER, headers=bearer(admin_token(client))).status_code == 404


def test_bad_power_settings_fail_the_plugin_with_its_reason(make_app):
    app = make_app(plugins={"power": {"interval_seconds": 0}})
    record = app.extensions["portald"].host.records["power"]
    assert record.state == "failed" and "interval_seconds" in record.reason
