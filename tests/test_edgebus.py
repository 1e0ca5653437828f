"""EdgeBus, the embedded broker: a real Mosquitto started, watched and stopped by the daemon.

Every test runs Debian's ``mosquitto`` on a free loopback port (the sim board runs the same broker as
the Linux board, as the daemon's own account, in the state dir; one test runs the Linux driver's way,
dropped to the ``mosquitto`` account). Whatever broker a test's daemon started is killed (by pid) at
the end even when the test fails.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import gevent
import paho.mqtt.client as mqtt
import psutil
import pytest

from conftest import admin_token, assert_each_answers, bearer, login, os_user_headers
from portald_plugins.edgebus.monitor import FIELDS, broker_status

STATUS, CONFIG = "/edgehub/api/edgebus/status", "/edgehub/api/edgebus/config"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mosquitto_version() -> str:
    out = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True).stdout
    return out.split("\n", 1)[0].split()[-1]  # "mosquitto version 2.0.11"


def _brokers(marker: str) -> list[psutil.Process]:
    """Running mosquitto processes whose command line names ``marker`` (a test's own folder)."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "mosquitto" and any(marker in part for part in proc.info["cmdline"] or ()):
            found.append(proc)
    return found


def _wait(condition, seconds: float = 8.0, what: str = "condition"):
    """Poll ``condition`` (yielding to gevent, so the daemon's greenlets run) until it is truthy."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        gevent.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(autouse=True)
def _need_mosquitto():
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is missing: apt-get install mosquitto mosquitto-clients (make test does it)")


@pytest.fixture
def kill_leftovers(tmp_path):
    """Kill (by pid) every broker still running from this test's folders at the end."""
    markers = [str(tmp_path)]
    yield markers
    for marker in markers:
        for proc in _brokers(marker):
            proc.kill()


@pytest.fixture
def port():
    return _free_port()


@pytest.fixture
def make_bus_app(make_app, port, kill_leftovers):
    def build(**overrides):
        edgebus = {"port": port, "sys_interval_seconds": 1, "start_timeout_seconds": 5,
                   "restart_backoff_max_seconds": 1, **overrides.pop("edgebus", {})}
        return make_app(plugins={"edgebus": edgebus, **overrides.pop("plugins", {})}, **overrides)
    return build


@pytest.fixture
def client(make_bus_app):
    return make_bus_app().test_client()


def _status(client, headers) -> dict:
    response = client.get(STATUS, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _up(client, headers) -> dict:
    """The status once the daemon's client is connected and the broker's $SYS figures count it (the
    first ones, retained from the broker's start, may predate it)."""
    def ready():
        status = _status(client, headers)
        figures = status["mqttBrokerStatus"]
        return status if status["clientStatus"] == "connected" and figures["clients_connected"] >= 1 else None

    return _wait(ready, what="the broker's $SYS figures")


def _enable(client, headers, enabled: bool = True):
    response = client.put(CONFIG, json={"enabled": enabled}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"enabled": enabled}


def _credentials(state: Path) -> tuple[str, str]:
    import json

    saved = json.loads((state / "plugins" / "edgebus" / "client.json").read_text())
    return saved["username"], saved["password"]


class Mqtt:
    """A paho client for the test (its loop in a thread), connected or refused within 5 s."""

    def __init__(self, port: int, username: str, password: str):
        self.messages: list[tuple[str, bytes]] = []
        self.result = None
        self._done = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{os.getpid()}-{id(self)}")
        self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self._done.wait(5):
            self.close()
            raise AssertionError("no CONNACK within 5 s")

    def _on_connect(self, client, userdata, flags, reason, properties):
        self.result = reason
        self._done.set()

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


# --- the broker's life --------------------------------------------------------------------------------

def test_enable_runs_the_broker_with_sys_figures_and_disable_stops_it(client, admin_headers, tmp_path, port):
    before = _status(client, admin_headers)
    assert before["enabled"] is False and before["clientStatus"] == "disconnected"
    assert set(before["mqttBrokerStatus"]) == set(FIELDS) and before["mqttBrokerStatus"]["uptime"] == 0
    assert _brokers(str(tmp_path)) == []

    _enable(client, admin_headers)
    status = _up(client, admin_headers)
    figures = status["mqttBrokerStatus"]
    assert status["enabled"] is True
    assert set(figures) == set(FIELDS) and all(isinstance(figures[f], int) for f in FIELDS if f != "version")
    assert figures["version"] == _mosquitto_version()
    assert abs(figures["time"] - time.time()) < 5 and figures["started"] <= figures["time"]
    assert figures["clients_connected"] >= 1 and figures["subscriptions"] >= 1  # the daemon's own client
    assert figures["memory_alloc"] > 0 and figures["threads"] >= 1 and figures["retained"] > 0
    brokers = _brokers(str(tmp_path))
    assert len(brokers) == 1
    # its own generated config: loopback listener on the configured port, no anonymous access
    conf = (tmp_path / "state" / "plugins" / "sim" / "edgebus" / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf and f"\nlistener {port} 127.0.0.1\n" in conf

    _enable(client, admin_headers, False)
    assert not brokers[0].is_running() or brokers[0].status() == psutil.STATUS_ZOMBIE
    after = _status(client, admin_headers)
    assert after["enabled"] is False and after["clientStatus"] == "disconnected"
    assert after["mqttBrokerStatus"]["version"] == "" and _brokers(str(tmp_path)) == []


def test_publish_subscribe_with_the_generated_password(client, admin_headers, tmp_path, port):
    _enable(client, admin_headers)
    _up(client, admin_headers)
    state = tmp_path / "state"
    secret = state / "plugins" / "edgebus" / "client.json"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    username, password = _credentials(state)
    broker_dir = state / "plugins" / "sim" / "edgebus"
    hashed = (broker_dir / "passwd").read_text()
    assert hashed.startswith(f"{username}:$7$101$") and password not in hashed
    assert stat.S_IMODE((broker_dir / "passwd").stat().st_mode) == 0o600

    refused = Mqtt(port, username, "not-the-password")
    refused.close()
    assert refused.result.is_failure
    anonymous = Mqtt(port, "", "")
    anonymous.close()
    assert anonymous.result.is_failure

    subscriber = Mqtt(port, username, password)
    publisher = Mqtt(port, username, password)
    try:
        assert not subscriber.result.is_failure
        subscribed = threading.Event()
        subscriber.client.on_subscribe = lambda *args: subscribed.set()
        subscriber.client.subscribe("plant/line1/#", qos=1)
        assert subscribed.wait(5)
        publisher.client.publish("plant/line1/temp", b"21.5", qos=1).wait_for_publish(5)
        _wait(lambda: subscriber.messages, what="the published message")
        assert subscriber.messages == [("plant/line1/temp", b"21.5")]
        # the figures follow: two more clients, a PUBLISH received (refreshed every sys_interval = 1 s)
        figures = _wait(lambda: (lambda f: f if f["messages_received"] >= 1 and f["clients_connected"] >= 3 else None)(
            _status(client, admin_headers)["mqttBrokerStatus"]), what="the publish in $SYS")
        assert figures["clients_total"] >= 3 and figures["packets_received"] > figures["messages_received"]
    finally:
        subscriber.close()
        publisher.close()


def test_a_killed_broker_is_restarted(client, admin_headers, tmp_path):
    _enable(client, admin_headers)
    _up(client, admin_headers)
    [first] = _brokers(str(tmp_path))
    os.kill(first.pid, signal.SIGKILL)
    restarted = _wait(lambda: [p for p in _brokers(str(tmp_path)) if p.pid != first.pid], what="a new broker")
    assert len(restarted) == 1
    status = _wait(lambda: (lambda s: s if s["clientStatus"] == "connected" else None)(_status(client, admin_headers)),
                   what="the daemon's client back on the new broker")
    assert status["enabled"] is True
    # killed again at once: restarted again (the backoff grows, bounded by restart_backoff_max_seconds = 1)
    os.kill(restarted[0].pid, signal.SIGKILL)
    _wait(lambda: [p for p in _brokers(str(tmp_path)) if p.pid not in (first.pid, restarted[0].pid)],
          what="a third broker")


def test_the_enabled_state_survives_a_restart_and_shutdown_stops_the_broker(make_bus_app, tmp_path):
    first = make_bus_app()
    client = first.test_client()
    headers = bearer(admin_token(client))
    _enable(client, headers)
    _up(client, headers)
    [broker] = _brokers(str(tmp_path))
    first.extensions["portald"].shutdown()
    assert not broker.is_running()

    second = make_bus_app().test_client()
    headers = bearer(login(second, "admin", "Fact0ry-Floor!").get_json()["token"])
    status = _up(second, headers)  # started by the daemon's start-up, nobody asked
    assert status["enabled"] is True and len(_brokers(str(tmp_path))) == 1
    _enable(second, headers, False)

    third = make_bus_app().test_client()
    headers = bearer(login(third, "admin", "Fact0ry-Floor!").get_json()["token"])
    gevent.sleep(0.5)
    assert _status(third, headers)["enabled"] is False and _brokers(str(tmp_path)) == []


def test_a_port_taken_by_someone_else_is_a_422_and_the_switch_stays_on(make_bus_app, port):
    client = make_bus_app(edgebus={"start_timeout_seconds": 1}).test_client()
    admin_headers = bearer(admin_token(client))
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        response = client.put(CONFIG, json={"enabled": True}, headers=admin_headers)
        assert response.status_code == 422
        assert set(response.get_json()) == {"message"} and "did not come up" in response.get_json()["message"]
        assert _status(client, admin_headers)["enabled"] is True
    # the port is free again: the supervisor's next attempt (backoff <= 1 s) gets the broker up
    _up(client, admin_headers)


# --- the API's edges ------------------------------------------------------------------------------

def test_every_endpoint_needs_a_token(client):
    assert_each_answers(client, [("get", STATUS, None), ("put", CONFIG, {"enabled": True})], 401)


@pytest.mark.parametrize("body", [
    {}, {"enabled": "true"}, {"enabled": 1}, {"enabled": None}, {"enabled": True, "port": 1}, [True], "x",
])
def test_a_bad_config_body_is_422_message(client, admin_headers, body, tmp_path):
    response = client.put(CONFIG, json=body, headers=admin_headers)
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()) == {"message"} and response.get_json()["message"]
    assert _status(client, admin_headers)["enabled"] is False and _brokers(str(tmp_path)) == []


def test_a_non_json_config_body_is_422(client, admin_headers):
    response = client.put(CONFIG, data="enabled=true", headers={**admin_headers, "Content-Type": "text/plain"})
    assert response.status_code == 422 and set(response.get_json()) == {"message"}


def test_an_os_user_reads_the_status_but_cannot_switch(client, admin_headers, os_user_factory, tmp_path):
    headers = os_user_headers(client, os_user_factory())
    assert client.get(STATUS, headers=headers).status_code == 200
    assert_each_answers(client, [("put", CONFIG, {"enabled": True})], 403, headers)
    assert _status(client, admin_headers)["enabled"] is False and _brokers(str(tmp_path)) == []


def test_no_mosquitto_is_404(make_app):
    app = make_app(board="auto", plugins={"linux": {"edgebus": {"executable": "/nonexistent/mosquitto"}}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    for response in (client.get(STATUS, headers=headers), client.put(CONFIG, json={"enabled": True}, headers=headers)):
        assert response.status_code == 404 and set(response.get_json()) == {"message"}
    plugins = client.get("/platform/api/plugins", headers=headers).get_json()
    assert "Mosquitto is not installed" in str(plugins)


# --- the Linux board's way: dropped to the mosquitto account ---------------------------------------

def test_linux_driver_runs_the_broker_as_the_mosquitto_account(make_bus_app, kill_leftovers, port):
    try:
        account = pwd.getpwnam("mosquitto")
    except KeyError:
        pytest.fail("the mosquitto account is missing: apt-get install mosquitto")
    # a folder the mosquitto account can reach ($TMPDIR, searchable parents), not pytest's 0700 tmp_path
    outer = Path(tempfile.mkdtemp(prefix="portald-edgebus-"))
    kill_leftovers.append(str(outer))
    try:
        outer.chmod(0o711)
        folder = outer / "broker"
        app = make_bus_app(board="auto", plugins={"linux": {"edgebus": {"broker_dir": str(folder)}}})
        client = app.test_client()
        headers = bearer(admin_token(client))
        _enable(client, headers)
        _up(client, headers)
        [broker] = _brokers(str(outer))
        assert broker.uids().effective == account.pw_uid
        for path in (folder, folder / "passwd", folder / "mosquitto.conf", folder / "data"):
            assert path.stat().st_uid == account.pw_uid and stat.S_IMODE(path.stat().st_mode) in (0o700, 0o600), path
        username, password = _credentials(Path(app.extensions["portald"].config.state_dir))
        check = Mqtt(port, username, password)
        check.close()
        assert not check.result.is_failure
        app.extensions["portald"].shutdown()
        assert not broker.is_running()
    finally:
        for proc in _brokers(str(outer)):
            proc.kill()
        shutil.rmtree(outer, ignore_errors=True)


# --- the real daemon (gevent-patched: paho's loop is a greenlet there) -----------------------------

def test_the_real_daemon_reclaims_the_broker_a_killed_run_left_and_keeps_it_on(tmp_path, monkeypatch, port,
                                                                              kill_leftovers):
    from test_server import ADMIN_NEW, Daemon

    monkeypatch.setenv("PORTALD_PLUGINS__EDGEBUS__PORT", str(port))
    monkeypatch.setenv("PORTALD_PLUGINS__EDGEBUS__SYS_INTERVAL_SECONDS", "1")

    def connected(daemon, headers):
        status = daemon.get(STATUS, headers=headers).json()
        return status if status["clientStatus"] == "connected" and status["mqttBrokerStatus"]["clients_connected"] else None

    first = Daemon(tmp_path, http=True)
    try:
        headers = {"Authorization": f"Bearer {first.admin_token()}"}
        assert first.put(CONFIG, json={"enabled": True}, headers=headers).json() == {"enabled": True}
        _wait(lambda: connected(first, headers), what="the broker under the real daemon")
        [orphan] = _brokers(str(tmp_path))
        first.proc.kill()  # SIGKILL: no shutdown hook runs; the broker (its own session) lives on
        first.proc.wait()
        assert orphan.is_running()
    finally:
        first.stop()
    second = Daemon(tmp_path, http=True)
    try:
        token = second.post("/auth/login?m=2", json={"username": "admin", "password": ADMIN_NEW}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        status = _wait(lambda: connected(second, headers), what="the broker after the restart")
        assert status["enabled"] is True
        [broker] = _brokers(str(tmp_path))
        assert broker.pid != orphan.pid and not orphan.is_running()
        assert second.stop() < 5 and second.proc.returncode == 0
        assert not broker.is_running()
    finally:
        second.stop()


# --- the figures, without a broker ----------------------------------------------------------------

def test_sys_values_map_to_the_spec_fields_with_fallbacks():
    values = {"version": "mosquitto version 2.0.11", "uptime": "120 seconds", "clients/disconnected": "-1",
              "retained messages/count": "52", "store/messages/count": "60", "messages/received": "9",
              "publish/messages/received": "4", "bytes/sent": "3509"}
    figures = broker_status(values, os.getpid(), now=1_000_000.0)
    me = psutil.Process()
    assert figures["version"] == "2.0.11" and figures["uptime"] == 120 and figures["started"] == 1_000_000 - 120
    assert figures["clients_disconnected"] == 0 and figures["inflight"] == 8 and figures["retained"] == 52
    assert figures["packets_received"] == 9 and figures["messages_received"] == 4 and figures["bytes_sent"] == 3509
    assert figures["memory_alloc"] > 1_000_000 and figures["threads"] == me.num_threads()  # RSS: no heap figure
    assert broker_status({"heap/current": "47712"}, None, now=5.0)["memory_alloc"] == 47712
    empty = broker_status({}, None, now=5.0)
    assert empty["version"] == "" and empty["threads"] == 0 and empty["started"] == 0
