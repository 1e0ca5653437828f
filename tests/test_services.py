"""``/platform/api/service*`` and the systemd driver, at the D-Bus boundary.

Each test gets a real ``dbus-daemon`` on a private socket and a fake systemd
(``tests/fixtures/services/fake_systemd.py``) owning ``org.freedesktop.systemd1`` on it; the plugin is
pointed at that bus. This proves our calls, signatures, job signals and error handling against a real
bus; it does not prove real systemd's semantics. The machine's own systemd is never touched.
"""
from __future__ import annotations

import json
import logging
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import FIXTURES, admin_token, bearer, login
from portald_plugins.boards.linux.services import NoSuchService, ServiceError, SystemdDriver

HERE = FIXTURES / "services"
BASE = "/platform/api/service"


def _first_line(proc: subprocess.Popen, seconds: float = 5.0) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], seconds)
    line = proc.stdout.readline() if ready else ""
    if not line:
        raise RuntimeError(f"{proc.args[0]} did not start (exit code {proc.poll()})")
    return line.strip()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.stdout.close()


class FakeSystemdBus:
    """A dbus-daemon with the fake systemd on it; ``kill_systemd()`` and ``stop()`` for outage tests."""

    def __init__(self):
        if shutil.which("dbus-daemon") is None:
            pytest.fail("dbus-daemon is missing: apt-get install dbus-daemon (make test does it)")
        # a unix socket path must fit in 108 bytes, which pytest's tmp_path does not promise: $TMPDIR
        self.folder = tempfile.mkdtemp(prefix="portald-bus-")
        self.address = f"unix:path={self.folder}/bus"
        self.daemon = subprocess.Popen(
            ["dbus-daemon", f"--config-file={HERE / 'bus.conf'}", f"--address={self.address}", "--nofork",
             "--print-address"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.systemd = None
        try:
            _first_line(self.daemon)
            self.systemd = subprocess.Popen([sys.executable, str(HERE / "fake_systemd.py"), self.address],
                                            stdout=subprocess.PIPE, text=True)
            assert _first_line(self.systemd) == "ready"
        except BaseException:
            self.stop()
            raise

    def kill_systemd(self) -> None:
        _stop(self.systemd)

    def stop(self) -> None:
        for proc in (self.systemd, self.daemon):
            if proc is not None:
                _stop(proc)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def bus():
    fake = FakeSystemdBus()
    yield fake
    fake.stop()


@pytest.fixture
def make_services_app(make_app, bus):
    def build(**settings):
        return make_app(board="auto", plugins={"linux": {"services": {"bus_address": bus.address, "job_timeout_seconds": 2, **settings}}})
    return build


@pytest.fixture
def client(make_services_app):
    return make_services_app().test_client()


@pytest.fixture
def driver(bus):
    return SystemdDriver(bus.address, call_timeout=2, job_timeout=2)


def _status(client, headers, name: str) -> str:
    response = client.get(f"{BASE}/{quote(name)}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["status"]


def _control(client, headers, name: str, action: str):
    return client.put(f"{BASE}/{quote(name)}", json={"action": action}, headers=headers)


def _service_error(response) -> str:
    assert response.status_code == 422, (response.status_code, response.get_json())
    body = response.get_json()
    assert set(body) == {"errors"} and set(body["errors"]) == {"Service"}, body
    assert body["errors"]["Service"]
    return body["errors"]["Service"]


# --- GET /service/list ---------------------------------------------------------------------------

def test_service_list_has_the_spec_fields_and_maps_systemd_states(client, admin_headers):
    response = client.get(f"{BASE}/list", headers=admin_headers)
    assert response.status_code == 200
    services = response.get_json()
    assert all(set(s) == {"name", "displayName", "description", "status"} for s in services)
    by_name = {s["name"]: s for s in services}
    assert by_name["ssh"] == {"name": "ssh", "displayName": "OpenBSD Secure Shell server",
                              "description": "OpenBSD Secure Shell server", "status": "running"}
    statuses = {name: s["status"] for name, s in by_name.items()}
    assert statuses == {
        "ssh": "running", "getty@tty1": "running", "run-u7": "running",
        "systemd-fsck@dev-disk-by\\x2duuid-0A1B": "running",  # active (exited): a oneshot that is up
        "cron": "stopped", "broken": "stopped", "slow": "stopped", "stuck": "stopped",
        "bluetooth": "disabled",  # only a unit file, not loaded
        "masked": "disabled",
        "flapping": "unknown",  # activating (auto-restart)
    }  # no alias (sshd), no template (getty@), no unit systemd could not find (ghost)
    assert by_name["bluetooth"]["displayName"] == "bluetooth" and by_name["bluetooth"]["description"] == ""


def test_every_listed_name_leads_back_to_the_same_status(client, admin_headers):
    services = client.get(f"{BASE}/list", headers=admin_headers).get_json()
    assert services
    for service in services:
        assert _status(client, admin_headers, service["name"]) == service["status"], service


def test_service_list_follows_changes(client, admin_headers):
    assert _control(client, admin_headers, "ssh", "stop").status_code == 204
    services = client.get(f"{BASE}/list", headers=admin_headers).get_json()
    assert {s["name"]: s["status"] for s in services}["ssh"] == "stopped"


# --- GET /service/:name --------------------------------------------------------------------------

@pytest.mark.parametrize("name,status", [
    ("ssh", "running"), ("ssh.service", "running"), ("cron", "stopped"),
    ("bluetooth", "disabled"),  # not loaded until asked: LoadUnit loads it
    ("masked", "disabled"), ("flapping", "unknown"),
    ("getty@tty1", "running"), ("getty@tty2", "stopped"),  # an instance of an enabled template
])
def test_service_status_maps_systemd_states(client, admin_headers, name, status):
    response = client.get(f"{BASE}/{name}", headers=admin_headers)
    assert response.status_code == 200
    assert response.get_json() == {"status": status}


@pytest.mark.parametrize("method", ["get", "put"])
def test_unknown_service_is_422_service(client, admin_headers, method):
    response = getattr(client, method)(f"{BASE}/no-such-daemon", json={"action": "stop"}, headers=admin_headers)
    assert "no-such-daemon.service" in _service_error(response)


@pytest.mark.parametrize("name", [
    "ssh;reboot", "ssh%20reboot", "%24(reboot)", "poweroff.target", "getty@", "a,b", "ssh%00", "x" * 300,
    "%C3%A9t%C3%A9",
])
@pytest.mark.parametrize("method", ["get", "put"])
def test_invalid_service_names_are_422_service(client, admin_headers, bus, name, method):
    response = getattr(client, method)(f"{BASE}/{name}", json={"action": "start"}, headers=admin_headers)
    _service_error(response)
    assert bus.systemd.poll() is None


# --- PUT /service/:name --------------------------------------------------------------------------

def test_start_stop_restart_change_the_service_and_answer_204(client, admin_headers):
    assert _status(client, admin_headers, "cron") == "stopped"
    response = _control(client, admin_headers, "cron", "start")
    assert response.status_code == 204 and response.data == b""
    assert _status(client, admin_headers, "cron") == "running"
    assert _control(client, admin_headers, "cron", "restart").status_code == 204
    assert _status(client, admin_headers, "cron") == "running"
    assert _control(client, admin_headers, "cron.service", "stop").status_code == 204
    assert _status(client, admin_headers, "cron") == "stopped"


def test_starting_a_disabled_service_runs_it_without_enabling_it(client, admin_headers):
    assert _control(client, admin_headers, "bluetooth", "start").status_code == 204
    assert _status(client, admin_headers, "bluetooth") == "running"
    assert _control(client, admin_headers, "bluetooth", "stop").status_code == 204
    assert _status(client, admin_headers, "bluetooth") == "disabled"


def test_start_waits_for_the_job_to_finish(client, admin_headers):
    started = time.monotonic()
    assert _control(client, admin_headers, "slow", "start").status_code == 204
    assert time.monotonic() - started >= 0.25  # the fake's job takes 0.3 s
    assert _status(client, admin_headers, "slow") == "running"


def test_failed_start_is_422_service_and_the_service_is_stopped(client, admin_headers):
    message = _service_error(_control(client, admin_headers, "broken", "start"))
    assert "failed" in message and "broken.service" in message
    assert _status(client, admin_headers, "broken") == "stopped"


def test_starting_a_masked_service_is_422_with_systemds_reason(client, admin_headers):
    assert "masked" in _service_error(_control(client, admin_headers, "masked", "start"))


def test_job_running_past_the_timeout_is_422_without_hanging(make_services_app):
    client = make_services_app(job_timeout_seconds=0.3).test_client()
    headers = bearer(admin_token(client))
    started = time.monotonic()
    assert "has not finished" in _service_error(_control(client, headers, "stuck", "start"))
    assert time.monotonic() - started < 2
    assert _status(client, headers, "stuck") == "unknown"  # still activating


@pytest.mark.parametrize("body", [
    {}, {"action": "reload"}, {"action": "START"}, {"action": 1}, {"action": None}, {"action": ["start"]},
    {"action": "start", "force": True}, [], "start",
])
def test_bad_control_body_is_422_validator(client, admin_headers, body):
    response = client.put(f"{BASE}/cron", json=body, headers=admin_headers)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"validator"}
    assert _status(client, admin_headers, "cron") == "stopped"


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"null"])
def test_unparseable_control_body_is_422_validator(client, admin_headers, raw):
    response = client.put(f"{BASE}/cron", data=raw, headers={**admin_headers, "Content-Type": "application/json"})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"validator"}


def test_control_is_logged_with_who_did_it_and_no_secret(client, caplog):
    token = admin_token(client)
    with caplog.at_level(logging.INFO, logger="portald.plugins.services"):
        assert _control(client, bearer(token), "cron", "start").status_code == 204
        _control(client, bearer(token), "broken", "start")
    lines = [r.getMessage() for r in caplog.records if r.name == "portald.plugins.services"]
    assert "admin started cron.service" in lines
    assert any(line.startswith("admin could not start broken.service") for line in lines)
    assert not any(token in line for line in caplog.text.splitlines())


# --- who may do what -----------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [("get", "/list"), ("get", "/ssh"), ("put", "/ssh")])
def test_service_endpoints_need_a_token(client, bus, method, path):
    response = getattr(client, method)(f"{BASE}{path}", json={"action": "stop"})
    assert response.status_code == 401 and response.get_json()["Code"] == 401


def test_os_user_reads_services_but_cannot_control_them(client, admin_headers, os_user_factory):
    user = os_user_factory()
    logged_in = login(client, user.name, user.password, m=0)
    assert logged_in.status_code == 200, logged_in.get_json()
    headers = bearer(logged_in.get_json()["token"])
    client.delete_cookie("jwt")
    assert client.get(f"{BASE}/list", headers=headers).status_code == 200
    assert _status(client, headers, "ssh") == "running"
    response = _control(client, headers, "ssh", "stop")
    assert response.status_code == 403 and response.get_json()["Code"] == 403
    assert _status(client, admin_headers, "ssh") == "running"


# --- presence, absence, outages ------------------------------------------------------------------

def _profile(client, headers) -> dict:
    return client.get("/edgehub/api/profile", headers=headers).get_json()


def _plugin_record(client, headers, name: str = "services") -> dict:
    plugins = client.get("/platform/api/plugins", headers=headers).get_json()["plugins"]
    return next(p for p in plugins if p["name"] == name)


def test_profile_reports_service_list_when_systemd_answers(client, admin_headers):
    assert _profile(client, admin_headers)["service:list"] == 1
    assert _plugin_record(client, admin_headers)["state"] == "active"


def test_without_a_bus_the_capability_is_absent_and_endpoints_404(make_app, tmp_path):
    app = make_app(board="auto", plugins={"linux": {"services": {"bus_address": f"unix:path={tmp_path}/no-bus"}}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    assert _profile(client, headers)["service:list"] == 0
    record = _plugin_record(client, headers)
    assert record["state"] == "absent" and "no systemd" in record["reason"]
    for method, path in [("get", "/list"), ("get", "/ssh"), ("put", "/ssh")]:
        response = getattr(client, method)(f"{BASE}{path}", json={"action": "start"}, headers=headers)
        assert response.status_code == 404 and response.get_json()["message"], path


def test_a_bus_without_systemd_is_absent_too(make_app, bus):
    bus.kill_systemd()
    client = make_app(board="auto", plugins={"linux": {"services": {"bus_address": bus.address}}}).test_client()
    headers = bearer(admin_token(client))
    assert _profile(client, headers)["service:list"] == 0
    assert "org.freedesktop.systemd1" in _plugin_record(client, headers)["reason"]


def test_a_socket_that_never_answers_is_absent_after_the_probe_timeout(make_app, tmp_path):
    path = Path(tempfile.mkdtemp(prefix="portald-mute-")) / "bus"
    mute = socket.socket(socket.AF_UNIX)
    try:
        mute.bind(str(path))
        mute.listen(4)
        started = time.monotonic()
        client = make_app(board="auto", plugins={"linux": {"services": {"bus_address": f"unix:path={path}",
                                                "probe_timeout_seconds": 0.3}}}).test_client()
        assert time.monotonic() - started < 3
        assert _profile(client, bearer(admin_token(client)))["service:list"] == 0
    finally:
        mute.close()
        shutil.rmtree(path.parent, ignore_errors=True)


def test_systemd_going_away_later_is_422_not_500(client, admin_headers, bus):
    assert _status(client, admin_headers, "ssh") == "running"
    bus.kill_systemd()
    _service_error(client.get(f"{BASE}/list", headers=admin_headers))
    _service_error(_control(client, admin_headers, "ssh", "stop"))
    bus.stop()
    assert "cannot connect" in _service_error(client.get(f"{BASE}/ssh", headers=admin_headers))


@pytest.mark.parametrize("bus_address", ["tcp:host=127.0.0.1,port=1", "nonsense", "unix:path"])
def test_bus_address_that_is_not_a_unix_socket_fails_the_plugin_with_a_reason(make_app, bus_address):
    client = make_app(board="auto", plugins={"linux": {"services": {"bus_address": bus_address}}}).test_client()
    headers = bearer(admin_token(client))
    record = _plugin_record(client, headers, "linux")
    assert record["state"] == "failed" and "bus_address" in record["reason"]
    assert _plugin_record(client, headers)["state"] == "absent"
    assert client.get(f"{BASE}/list", headers=headers).status_code == 404


# --- the driver alone ----------------------------------------------------------------------------

def test_driver_reports_systemds_errors_by_kind(driver):
    assert driver.probe()
    with pytest.raises(NoSuchService):
        driver.status("nope.service")
    with pytest.raises(NoSuchService):
        driver.control("nope.service", "stop")
    with pytest.raises(ServiceError) as failed:
        driver.control("broken.service", "restart")
    assert not isinstance(failed.value, NoSuchService)


def test_driver_waits_for_its_own_job_in_its_own_greenlet_under_gevent(bus):
    """In the daemon (after monkey.patch_all) a request waiting for a slow job must not hold up
    another, and must not take another job's end (every JobRemoved reaches every waiter) for its own."""
    script = textwrap.dedent(f"""
        from gevent import monkey; monkey.patch_all()
        import json, time, gevent
        from portald_plugins.boards.linux.services import SystemdDriver
        driver = SystemdDriver({bus.address!r})
        started = time.monotonic()
        slow = gevent.spawn(driver.control, "slow.service", "start")
        gevent.sleep(0.05)
        status = driver.status("ssh.service")
        driver.control("cron.service", "start")
        quick_after = time.monotonic() - started
        slow.get()
        print(json.dumps({{"status": status, "quick_after": quick_after, "slow_after": time.monotonic() - started,
                          "slow_status": driver.status("slow.service")}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "running" and result["slow_status"] == "running"
    assert result["quick_after"] < 0.25 <= result["slow_after"]
