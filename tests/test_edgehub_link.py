"""EdgeHub's cloud link against a real Mosquitto: connect/disconnect/status, TCP, WebSockets, TLS with
a client certificate, a revoked one (``certRevoked``), DCCS credentials, an Azure SAS login, the profile
publish, a restart in the middle, delivery in order after the broker comes back, and storm detection."""
from __future__ import annotations

import base64
import json
import time

import pytest

from conftest import ADMIN_PASSWORD, admin_token, bearer, login
from edgehub_support import Dccs, Mosquitto, Pki, Subscriber, free_port, started, wait_for  # noqa: F401

API = "/edgehub/api"
FAST = {"backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2, "connect_timeout_seconds": 3.0,
        "profile_poll_seconds": 0.2}


@pytest.fixture
def broker(tmp_path, started):
    return lambda **kwargs: started(Mosquitto(tmp_path / f"broker-{free_port()}", **kwargs).start())


@pytest.fixture
def subscriber(started):
    return lambda port, topic="#": started(Subscriber(port, topic, client_id=f"sub-{free_port()}"))


@pytest.fixture
def edgehub(make_app):
    """An app with fast reconnects; ``(app, client, headers)``."""
    def build(restarted=False, **settings):
        app = make_app(plugins={"edgehub": {**FAST, **settings}})
        client = app.test_client()
        token = login(client, "admin", ADMIN_PASSWORD).get_json()["token"] if restarted else admin_token(client)
        return app, client, bearer(token)
    return build


def _status(client, headers) -> dict:
    response = client.get(f"{API}/connection", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def _connected(client, headers):
    return lambda: _status(client, headers)["status"] == "connected"


def _connect(client, headers, **conncfg):
    response = client.post(f"{API}/connection", headers=headers, json={"op": "connect", "conncfg": conncfg})
    assert response.status_code == 200, response.get_json()


def test_connect_publish_tags_and_disconnect(edgehub, broker, subscriber):
    mosquitto = broker()
    sub = subscriber(mosquitto.port)
    _app, client, headers = edgehub()
    assert _status(client, headers) == {"enabled": False, "status": "disconnected", "certRevoked": False,
                                        "stormDetected": False, "lastError": "",
                                        "outbox": {"depth": 0, "maxMessages": 100000, "dropped": 0,
                                                   "duplicates": 0, "rejected": 0}}
    _connect(client, headers, mqttHost="127.0.0.1", mqttPort=mosquitto.port, uuid="dev-1")
    wait_for(_connected(client, headers))
    for n in range(20):
        assert client.post(f"{API}/data", headers=headers, json={"n": n, "s": "x", "ok": True}).status_code == 201
    received = wait_for(lambda: len(sub.on("Advantech/dev-1/data")) == 20 and sub.on("Advantech/dev-1/data"))
    assert [json.loads(p)["d"]["n"] for p in received] == list(range(20))
    profile = json.loads(wait_for(lambda: sub.on("Advantech/dev-1/update/platform/profile"))[0])
    assert profile["agent:version:edgehub-agent"] and "hwmon" in profile
    wait_for(lambda: _status(client, headers)["outbox"]["depth"] == 0)
    assert client.post(f"{API}/connection", headers=headers, json={"op": "disconnect"}).status_code == 200
    wait_for(lambda: _status(client, headers)["status"] == "disconnected")
    assert _status(client, headers)["enabled"] is False


def _tags(sub, topic="Advantech/dev-1/data") -> list[int]:
    """The tag numbers received, each once, in the order first seen (QoS 1 is at least once: the
    broker may hand the subscriber a message again after its own restart)."""
    return list(dict.fromkeys(json.loads(p)["d"]["n"] for p in sub.on(topic)))


def _post(client, headers, numbers):
    for n in numbers:
        assert client.post(f"{API}/data", headers=headers, json={"n": n}).status_code == 201


def test_data_posted_while_the_broker_is_down_arrives_in_order_after_it_returns(edgehub, broker, subscriber):
    mosquitto = broker()
    sub = subscriber(mosquitto.port, "Advantech/dev-1/data")
    _app, client, headers = edgehub()
    _connect(client, headers, mqttHost="127.0.0.1", mqttPort=mosquitto.port, uuid="dev-1")
    wait_for(_connected(client, headers))
    _post(client, headers, range(0, 10))
    wait_for(lambda: len(_tags(sub)) == 10)
    mosquitto.stop()
    wait_for(lambda: _status(client, headers)["status"] == "disconnected")
    _post(client, headers, range(10, 60))
    assert _status(client, headers)["outbox"]["depth"] == 50
    mosquitto.start()
    wait_for(lambda: len(_tags(sub)) >= 60, timeout=15)
    assert _tags(sub) == list(range(60))
    wait_for(lambda: _status(client, headers)["outbox"]["depth"] == 0)


def test_a_restart_in_the_middle_keeps_the_link_enabled_and_the_queued_data(edgehub, broker, subscriber):
    mosquitto = broker()
    sub = subscriber(mosquitto.port, "Advantech/dev-1/data")
    first, client, headers = edgehub()
    _connect(client, headers, mqttHost="127.0.0.1", mqttPort=mosquitto.port, uuid="dev-1")
    wait_for(_connected(client, headers))
    mosquitto.stop()
    wait_for(lambda: _status(client, headers)["status"] == "disconnected")
    _post(client, headers, range(30))
    first.extensions["portald"].shutdown()
    mosquitto.start()
    _second, client, headers = edgehub(restarted=True)  # same state dir: nobody asks it to connect
    wait_for(_connected(client, headers))
    assert _status(client, headers)["enabled"] is True
    _post(client, headers, range(30, 40))
    wait_for(lambda: len(_tags(sub)) >= 40, timeout=15)
    assert _tags(sub) == list(range(40))


def test_websockets(edgehub, broker, subscriber):
    mosquitto = broker(websockets=True)
    sub = subscriber(mosquitto.port, "Advantech/dev-ws/data")
    _app, client, headers = edgehub()
    _connect(client, headers, mqttHost="127.0.0.1", mqttPort=mosquitto.ws_port, overWebSocket=True, uuid="dev-ws")
    wait_for(_connected(client, headers))
    _post(client, headers, range(3))
    wait_for(lambda: _tags(sub, "Advantech/dev-ws/data") == [0, 1, 2])


def test_tls_with_a_client_certificate_and_a_revoked_one(edgehub, broker, subscriber, tmp_path):
    pki = Pki(tmp_path / "pki")
    good_cert, good_key = pki.issue("device-good")
    bad_cert, bad_key = pki.issue("device-revoked")
    pki.revoke(bad_cert)
    mosquitto = broker(pki=pki)
    sub = subscriber(mosquitto.port, "Advantech/dev-tls/data")
    _app, client, headers = edgehub()
    tls = {"mqttHost": "127.0.0.1", "mqttPort": mosquitto.tls_port, "enableTLS": True, "uuid": "dev-tls",
           "caCerts": [base64.b64encode(pki.ca_pem.encode()).decode()]}
    _connect(client, headers, **tls, mqttCert=good_cert, mqttKey=good_key)
    wait_for(_connected(client, headers))
    _post(client, headers, [1])
    wait_for(lambda: _tags(sub, "Advantech/dev-tls/data") == [1])
    assert _status(client, headers)["certRevoked"] is False
    # the revoked certificate: the broker refuses it, the status says why
    _connect(client, headers, **tls, mqttCert=bad_cert, mqttKey=bad_key)
    wait_for(lambda: _status(client, headers)["certRevoked"])
    status = _status(client, headers)
    assert status["status"] == "disconnected" and "revoked" in status["lastError"]
    # no CA given: the test CA's server certificate does not verify, unless skipCertVerify
    untrusted = {**tls, "caCerts": [], "mqttCert": good_cert, "mqttKey": good_key}
    _connect(client, headers, **untrusted)
    wait_for(lambda: "certificate verify failed" in _status(client, headers)["lastError"])
    _connect(client, headers, **untrusted, skipCertVerify=True)
    wait_for(_connected(client, headers))
    assert _status(client, headers)["certRevoked"] is False


def test_deviceon_credentials_from_the_dccs_fetched_again_after_failures(edgehub, broker, subscriber, started):
    first, second = broker(), broker()
    sub = subscriber(second.port, "Advantech/dev-d/data")
    dccs = started(Dccs())
    dccs.credentials = {"serviceHost": "127.0.0.1", "credential": {"protocols": {
        "mqtt": {"port": first.port, "username": "u1", "password": "p1"}}}}
    _app, client, headers = edgehub(dccs_refetch_after_failures=2)
    _connect(client, headers, uuid="dev-d", deviceon={"dccsUrl": dccs.url, "iotKey": "key/1"})
    wait_for(_connected(client, headers))
    assert [path for _m, path, _a, _b in dccs.requests] == ["/v1/serviceCredentials/key%2F1"]
    # the cloud moves the device to another broker; the first one goes away
    dccs.credentials["credential"]["protocols"]["mqtt"]["port"] = second.port
    first.kill()
    wait_for(lambda: len(dccs.requests) >= 2, timeout=15)
    wait_for(_connected(client, headers), timeout=15)
    _post(client, headers, [7])
    wait_for(lambda: _tags(sub, "Advantech/dev-d/data") == [7])


def test_azure_connection_string_logs_in_with_a_sas_token_renewed_before_expiry(edgehub, broker, subscriber, tmp_path):
    pki = Pki(tmp_path / "pki")
    cert, key = pki.issue("azure-device")
    mosquitto = broker(pki=pki)
    sub = subscriber(mosquitto.port, "devices/dev42/messages/events/#")
    app, client, headers = edgehub(sas_ttl_seconds=10, sas_renew_fraction=0.1)
    secret = base64.b64encode(b"device-key").decode()
    _connect(client, headers, connectionString=f"HostName=127.0.0.1;DeviceId=dev42;SharedAccessKey={secret}",
             mqttPort=mosquitto.tls_port, caCerts=[pki.ca_pem], mqttCert=cert, mqttKey=key)
    wait_for(_connected(client, headers))
    _post(client, headers, [5])
    wait_for(lambda: _tags(sub, "devices/dev42/messages/events/kind=data") == [5])
    link = app.extensions["portald"].host.memos["edgehub"]["service"].link
    wait_for(lambda: link.connects >= 2, timeout=10)  # renewed by a clean reconnect, not a failure
    assert _status(client, headers)["stormDetected"] is False


def test_sas_token_is_signed_with_the_device_key():
    import hashlib
    import hmac
    import urllib.parse

    from portald_plugins.edgehub.link import sas_token

    token = sas_token("hub.azure-devices.net", "dev 1", base64.b64encode(b"k").decode(), 1700000000)
    assert token.startswith("SharedAccessSignature ")
    fields = dict(part.split("=", 1) for part in token.split(" ", 1)[1].split("&"))
    assert fields["sr"] == "hub.azure-devices.net%2Fdevices%2Fdev%201" and fields["se"] == "1700000000"
    expected = hmac.new(b"k", f"{fields['sr']}\n1700000000".encode(), hashlib.sha256).digest()
    assert base64.b64decode(urllib.parse.unquote(fields["sig"])) == expected


def test_a_flapping_link_is_a_connection_storm(edgehub, broker):
    import paho.mqtt.client as mqtt

    mosquitto = broker()
    app, client, headers = edgehub(storm_threshold=3, storm_window_seconds=60, storm_backoff_seconds=0.5)
    link = app.extensions["portald"].host.memos["edgehub"]["service"].link
    _connect(client, headers, mqttHost="127.0.0.1", mqttPort=mosquitto.port, uuid="dev-storm")
    for round_ in range(1, 6):  # another client with the same id takes the session over: the link drops
        wait_for(lambda: link.connects >= round_ and link.connected)
        assert _status(client, headers)["stormDetected"] is (round_ > 4)
        thief = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev-storm")
        thief.connect("127.0.0.1", mosquitto.port)
        thief.loop(0.2)
        thief.disconnect()
    wait_for(lambda: _status(client, headers)["stormDetected"])



def test_mqtt_5(edgehub, broker, subscriber):
    mosquitto = broker()
    sub = subscriber(mosquitto.port, "Advantech/dev-5/data")
    app, client, headers = edgehub(protocol="5")
    _connect(client, headers, mqttHost="127.0.0.1", mqttPort=mosquitto.port, uuid="dev-5")
    wait_for(_connected(client, headers))
    _post(client, headers, range(5))
    wait_for(lambda: _tags(sub, "Advantech/dev-5/data") == list(range(5)))
    wait_for(lambda: _status(client, headers)["outbox"]["depth"] == 0)
    assert "as dev-5 (p5," in (mosquitto.folder / "mosquitto.log").read_text()  # Mosquitto's word for MQTT 5


def test_the_profile_is_published_again_when_it_changes(edgehub, broker, subscriber, monkeypatch):
    import portald.core_routes

    mosquitto = broker()
    sub = subscriber(mosquitto.port, "Advantech/dev-p/update/platform/profile")
    _app, client, headers = edgehub()
    profile = {"hwmon": 1, "model:name": "first"}
    monkeypatch.setattr(portald.core_routes, "profile_document", lambda: dict(profile))
    _connect(client, headers, mqttHost="127.0.0.1", mqttPort=mosquitto.port, uuid="dev-p")
    wait_for(_connected(client, headers))
    published = lambda: [json.loads(p) for p in sub.on("Advantech/dev-p/update/platform/profile")]  # noqa: E731
    wait_for(lambda: published() and published()[-1]["model:name"] == "first")
    profile["model:name"] = "second"
    wait_for(lambda: _status(client, headers) and published()[-1]["model:name"] == "second")
    count = len(published())
    time.sleep(0.6)  # three polls: an unchanged profile is not sent again
    _status(client, headers)
    time.sleep(0.3)
    assert len(published()) == count


def test_tag_data_does_not_cut_the_backoff_short(edgehub, broker):
    mosquitto = broker()
    app, client, headers = edgehub(backoff_base_seconds=0.4, backoff_max_seconds=0.4)
    _connect(client, headers, mqttHost="127.0.0.1", mqttPort=mosquitto.port, uuid="dev-b")
    wait_for(_connected(client, headers))
    mosquitto.stop()
    wait_for(lambda: _status(client, headers)["status"] == "disconnected")
    link = app.extensions["portald"].host.memos["edgehub"]["service"].link
    before, start = link.attempts, time.monotonic()
    while time.monotonic() - start < 2.0:
        _post(client, headers, [1])
        time.sleep(0.005)
    # waits are drawn from [0, 0.4 s): about 10 attempts in 2 s, one per POST if data woke the link
    assert link.attempts - before < 30
    assert _status(client, headers)["outbox"]["depth"] > 100
