"""EdgeHub's cloud link against a real Mosquitto: connect/disconnect/status, TCP, WebSockets, TLS with
a client certificate, a revoked one (``certRevoked``), DCCS credentials, an Azure SAS login, the profile
publish, a restart in the middle, delivery in order after the broker comes back, and storm detection."""
from __future__ import annotations

import base64
import json

import pytest

from conftest import bearer, admin_token
from edgehub_support import Dccs, Mosquitto, Pki, Subscriber, wait_for

API = "/edgehub/api"
FAST = {"backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2, "connect_timeout_seconds": 3.0,
        "profile_poll_seconds": 0.2}


@pytest.fixture
def broker(tmp_path):
    made = []

    def start(**kwargs) -> Mosquitto:
        broker = Mosquitto(tmp_path / f"broker{len(made)}", **kwargs).start()
        made.append(broker)
        return broker

    yield start
    for broker in made:
        broker.kill()


@pytest.fixture
def subscriber():
    made = []

    def start(port: int, topic: str = "#") -> Subscriber:
        sub = Subscriber(port, topic, client_id=f"sub{len(made)}-{id(made)}")
        made.append(sub)
        return sub

    yield start
    for sub in made:
        sub.close()


@pytest.fixture
def edgehub(make_app):
    """An app with fast reconnects; ``(app, client, headers)``."""
    def build(**settings):
        app = make_app(plugins={"edgehub": {**FAST, **settings}})
        client = app.test_client()
        return app, client, bearer(admin_token(client))
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
