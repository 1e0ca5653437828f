"""AppHub: the service's status and control through the ``services`` driver (the sim board's list, and
systemd's D-Bus API as the fake systemd of ``test_services`` speaks it), its log settings file, the
profile's ``apphub`` number, and every endpoint's 401/403/400/404/422."""
from __future__ import annotations

import json
import stat

import pytest

from conftest import admin_token, assert_each_answers, bearer, os_user_headers
from test_services import FakeSystemdBus

STATUS, SERVICE, LOG = "/edgehub/api/apphub/status", "/edgehub/api/apphub/service", "/edgehub/api/apphub/log/config"


def _status(client, headers) -> str:
    response = client.get(STATUS, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert set(response.get_json()) == {"status"}
    return response.get_json()["status"]


def _profile(client, headers) -> int:
    return client.get("/edgehub/api/profile", headers=headers).get_json()["apphub"]


def _message(response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.get_json())
    body = response.get_json()
    assert set(body) == {"message"} and body["message"], body
    return body["message"]


@pytest.fixture
def log_file(tmp_path):
    return tmp_path / "apphub" / "log.json"


@pytest.fixture
def client(make_app, log_file):
    return make_app(plugins={"apphub": {"log_config_file": str(log_file)}}).test_client()


# --- the service on the sim board ----------------------------------------------------------------

def test_status_and_control_follow_the_service_and_the_profile(client, admin_headers):
    assert _status(client, admin_headers) == "running" and _profile(client, admin_headers) == 2
    response = client.put(SERVICE, json={"action": "stop"}, headers=admin_headers)
    assert response.status_code == 204 and response.data == b""
    assert _status(client, admin_headers) == "stopped" and _profile(client, admin_headers) == 1
    assert client.put(SERVICE, json={"action": "start"}, headers=admin_headers).status_code == 204
    assert _status(client, admin_headers) == "running"
    assert client.put(SERVICE, json={"action": "restart"}, headers=admin_headers).status_code == 204
    assert _status(client, admin_headers) == "running"
    # the same unit through the services API
    assert client.get("/platform/api/service/apphub", headers=admin_headers).get_json() == {"status": "running"}


def test_a_unit_that_is_not_installed_is_404_and_profile_0(make_app):
    client = make_app(plugins={"apphub": {"unit": "no-apphub.service"}}).test_client()
    headers = bearer(admin_token(client))
    _message(client.get(STATUS, headers=headers), 404)
    _message(client.put(SERVICE, json={"action": "start"}, headers=headers), 404)
    assert _profile(client, headers) == 0


def test_a_failing_start_is_422_message(make_app):
    client = make_app(plugins={"apphub": {"unit": "broken.service"}}).test_client()
    headers = bearer(admin_token(client))
    assert "failed" in _message(client.put(SERVICE, json={"action": "start"}, headers=headers), 422)
    assert _status(client, headers) == "stopped"


@pytest.mark.parametrize("body", [{}, {"action": "reload"}, {"action": 1}, {"action": "start", "now": True},
                                  ["start"], "start"])
def test_a_bad_service_body_is_400_and_changes_nothing(client, admin_headers, body):
    _message(client.put(SERVICE, json=body, headers=admin_headers), 400)
    assert _status(client, admin_headers) == "running"


def test_a_bad_unit_setting_fails_the_plugin(make_app):
    client = make_app(plugins={"apphub": {"unit": "x;reboot"}}).test_client()
    headers = bearer(admin_token(client))
    plugins = client.get("/platform/api/plugins", headers=headers).get_json()["plugins"]
    record = next(p for p in plugins if p["name"] == "apphub")
    assert record["state"] == "failed" and "unit" in record["reason"]


# --- the service through systemd's D-Bus API ------------------------------------------------------

@pytest.fixture
def bus():
    fake = FakeSystemdBus()
    yield fake
    fake.stop()


@pytest.mark.parametrize("unit,status,profile", [
    ("ssh.service", "running", 2), ("cron.service", "stopped", 1), ("bluetooth.service", "stopped", 1),
    ("flapping.service", "unknown status: unknown", 1),
])
def test_systemd_states_map_to_the_spec_strings(make_app, bus, unit, status, profile):
    client = make_app(board="auto", plugins={"apphub": {"unit": unit}, "linux": {"services": {
        "bus_address": bus.address, "job_timeout_seconds": 2}}}).test_client()
    headers = bearer(admin_token(client))
    assert _status(client, headers) == status and _profile(client, headers) == profile


def test_systemd_control_unknown_unit_and_outage(make_app, bus):
    app = make_app(board="auto", plugins={"apphub": {"unit": "cron.service"}, "linux": {"services": {
        "bus_address": bus.address, "job_timeout_seconds": 2, "call_timeout_seconds": 1}}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    assert client.put(SERVICE, json={"action": "start"}, headers=headers).status_code == 204
    assert _status(client, headers) == "running"
    bus.kill_systemd()
    assert _status(client, headers) == "unknown or not available" and _profile(client, headers) == 0
    _message(client.put(SERVICE, json={"action": "stop"}, headers=headers), 422)


def test_systemd_unit_not_installed_is_404(make_app, bus):
    client = make_app(board="auto", plugins={"apphub": {"unit": "apphub.service"}, "linux": {"services": {
        "bus_address": bus.address}}}).test_client()
    headers = bearer(admin_token(client))
    _message(client.get(STATUS, headers=headers), 404)
    _message(client.put(SERVICE, json={"action": "restart"}, headers=headers), 404)
    assert _profile(client, headers) == 0


def test_no_services_driver_is_404(make_app, tmp_path):
    client = make_app(board="auto", plugins={"linux": {"services": {"bus_address": f"unix:path={tmp_path}/no-bus"}}}
                      ).test_client()
    headers = bearer(admin_token(client))
    _message(client.get(STATUS, headers=headers), 404)
    _message(client.put(SERVICE, json={"action": "start"}, headers=headers), 404)
    assert _profile(client, headers) == 0


# --- the log settings -----------------------------------------------------------------------------

def test_log_config_is_written_merged_and_atomic(client, admin_headers, log_file):
    assert client.put(LOG, json={"logFile": True, "logLevel": "info"}, headers=admin_headers).status_code == 204
    assert json.loads(log_file.read_text()) == {"logFile": True, "logLevel": "info"}
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o644
    assert client.put(LOG, json={"logLevel": "error"}, headers=admin_headers).status_code == 204
    assert json.loads(log_file.read_text()) == {"logFile": True, "logLevel": "error"}
    assert client.put(LOG, json={"logFile": False}, headers=admin_headers).status_code == 204
    assert json.loads(log_file.read_text()) == {"logFile": False, "logLevel": "error"}
    assert [p.name for p in log_file.parent.iterdir()] == ["log.json"]  # no temporary file left


def test_a_damaged_log_config_is_replaced(client, admin_headers, log_file):
    log_file.parent.mkdir(parents=True)
    log_file.write_text("{not json")
    assert client.put(LOG, json={"logLevel": "info"}, headers=admin_headers).status_code == 204
    assert json.loads(log_file.read_text()) == {"logFile": False, "logLevel": "info"}


@pytest.mark.parametrize("body", [{}, {"logLevel": "debug"}, {"logFile": "yes"}, {"logFile": 1},
                                  {"logFile": None, "logLevel": None}, {"logFile": True, "size": 1}, [], "info"])
def test_a_bad_log_config_is_400_and_writes_nothing(client, admin_headers, log_file, body):
    _message(client.put(LOG, json=body, headers=admin_headers), 400)
    assert not log_file.exists()


def test_an_unwritable_log_config_is_422(make_app, tmp_path):
    (tmp_path / "a-file").write_text("")
    client = make_app(plugins={"apphub": {"log_config_file": str(tmp_path / "a-file" / "log.json")}}).test_client()
    headers = bearer(admin_token(client))
    assert "cannot write" in _message(client.put(LOG, json={"logFile": True}, headers=headers), 422)


def test_the_default_log_config_is_in_the_state_dir(make_app, tmp_path):
    client = make_app().test_client()
    headers = bearer(admin_token(client))
    assert client.put(LOG, json={"logFile": True}, headers=headers).status_code == 204
    saved = tmp_path / "state" / "plugins" / "apphub" / "log-config.json"
    assert json.loads(saved.read_text()) == {"logFile": True, "logLevel": "error"}


# --- who may ----------------------------------------------------------------------------------------

def test_every_endpoint_needs_a_token(client):
    assert_each_answers(client, [("get", STATUS, None), ("put", SERVICE, {"action": "stop"}),
                                 ("put", LOG, {"logFile": True})], 401)


def test_an_os_user_reads_the_status_but_cannot_write(client, admin_headers, os_user_factory, log_file):
    headers = os_user_headers(client, os_user_factory())
    assert _status(client, headers) == "running"
    assert_each_answers(client, [("put", SERVICE, {"action": "stop"}), ("put", LOG, {"logFile": True})], 403, headers)
    assert _status(client, admin_headers) == "running" and not log_file.exists()
