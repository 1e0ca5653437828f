"""EdgeHub's cloud-link endpoints without a broker: the 401s, bad inputs with the spec's
``{"message": ...}`` shape, the masked secrets round trip (0600 on disk), ``macaddr`` from a fixture
tree, the tag-data checks and the outbox bound."""
from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from conftest import admin_token, bearer

API = "/edgehub/api"
SECRET = "s3cr3t-Passw0rd"
FULL = {"username": "dev", "password": SECRET, "mqttHost": "broker.example", "mqttPort": 8883,
        "enableTLS": True, "overWebSocket": False, "connectionString": "HostName=h;DeviceId=d;SharedAccessKey=a2V5",
        "mac": "AABBCCDDEEFF", "uuid": "123e4567-e89b-12d3-a456-426614174000",
        "deviceon": {"dccsUrl": "https://dccs.example", "iotKey": "iot-key-1"},
        "deviceTokenCredential": "dG9rZW4=", "skipCertVerify": False, "caCerts": ["-----BEGIN CERTIFICATE-----"],
        "iothubKey": "hub-key", "iothubCert": "hub-cert", "mqttKey": "mqtt-key", "mqttCert": "mqtt-cert"}


@pytest.fixture
def headers(client):
    return bearer(admin_token(client))


def _message(response, status):
    assert response.status_code == status, (response.status_code, response.get_data())
    body = response.get_json()
    assert set(body) == {"message"} and body["message"]
    return body["message"]


def test_every_endpoint_needs_a_token(client):
    calls = [("get", "macaddr", None), ("get", "conncfg", None), ("post", "conncfg", {"mqttHost": "h"}),
             ("delete", "conncfg", None), ("get", "connection", None), ("post", "connection", {"op": "connect"}),
             ("post", "data", {"a": 1})]
    for method, path, body in calls:
        response = getattr(client, method)(f"{API}/{path}", json=body)
        assert response.status_code == 401 and response.get_json()["Code"] == 401, (method, path)


def test_conncfg_secrets_are_masked_kept_when_the_mask_comes_back_and_stored_0600(app, client, headers):
    assert _message(client.get(f"{API}/conncfg", headers=headers), 404)
    response = client.post(f"{API}/conncfg", headers=headers, json=FULL)
    assert response.status_code == 200
    shown = response.get_json()
    for name in ("password", "connectionString", "deviceTokenCredential", "iothubKey", "mqttKey"):
        assert shown[name] == "********"
    assert shown["deviceon"] == {"dccsUrl": "https://dccs.example", "iotKey": "********"}
    assert shown["mqttHost"] == "broker.example" and shown["iothubCert"] == "hub-cert"
    assert client.get(f"{API}/conncfg", headers=headers).get_json() == shown
    # GET, edit one field, POST the document back: the secrets stay
    shown["mqttPort"] = 1883
    assert client.post(f"{API}/conncfg", headers=headers, json=shown).status_code == 200
    path = app.extensions["portald"].host.config.state_dir / "plugins" / "edgehub" / "conncfg.json"
    stored = json.loads(path.read_text())
    assert stored["password"] == SECRET and stored["deviceon"]["iotKey"] == "iot-key-1" and stored["mqttPort"] == 1883
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # a new secret replaces the old one
    assert client.post(f"{API}/conncfg", headers=headers, json={**shown, "password": "new"}).status_code == 200
    assert json.loads(path.read_text())["password"] == "new"
    assert client.delete(f"{API}/conncfg", headers=headers).status_code == 200
    assert not path.exists()
    _message(client.get(f"{API}/conncfg", headers=headers), 404)


def test_a_mask_with_nothing_stored_behind_it_is_refused(client, headers):
    assert "no secret is stored" in _message(
        client.post(f"{API}/conncfg", headers=headers, json={"mqttHost": "h", "password": "********"}), 422)


def test_the_token_shape_is_accepted(client, headers):
    token = base64.b64encode(json.dumps({"mqttHost": "h", "mqttPort": 1883}).encode()).decode()
    body = {"deviceTokenCredential": token, "skipCertVerify": True, "caCerts": [],
            "deviceon": {"dccsUrl": "", "iotKey": ""}}
    assert client.post(f"{API}/conncfg", headers=headers, json=body).status_code == 200
    assert client.get(f"{API}/conncfg", headers=headers).get_json()["deviceTokenCredential"] == "********"


@pytest.mark.parametrize("body", [
    [], "x", {"mqttPort": 0}, {"mqttPort": "1883"}, {"enableTLS": "yes"}, {"nope": 1},
    {"mqttHost": "a b"}, {"deviceon": {"dccsUrl": 5}}, {"caCerts": "pem"},
    {"uuid": "a/#"}, {"uuid": ""}, {"mac": "AABBCC"}, {"mac": "zz:bb:cc:dd:ee:ff"},
])
def test_bad_conncfg_is_422_with_a_message(client, headers, body):
    _message(client.post(f"{API}/conncfg", headers=headers, json=body), 422)


def test_conncfg_that_is_not_json_is_422(client, headers):
    _message(client.post(f"{API}/conncfg", headers=headers, data=b"{", content_type="application/json"), 422)


def test_connection_op_checks(client, headers):
    _message(client.post(f"{API}/connection", headers=headers, json={"op": "jump"}), 422)
    _message(client.post(f"{API}/connection", headers=headers, json={"op": "connect", "x": 1}), 422)
    _message(client.post(f"{API}/connection", headers=headers, json=["connect"]), 422)
    _message(client.post(f"{API}/connection", headers=headers, json={"op": "connect", "conncfg": {"mqttPort": -1}}), 422)
    # connect with nothing configured: "no available data"
    _message(client.post(f"{API}/connection", headers=headers, json={"op": "connect"}), 404)
    assert client.post(f"{API}/connection", headers=headers, json={"op": "disconnect"}).status_code == 200


@pytest.mark.parametrize("body", [
    b"", b"[]", b'"x"', b"{}", b'{"a": {"b": 1}}', b'{"a": [1]}', b'{"a": null}', b'{"a": NaN}', b'{"": 1}', b"{",
])
def test_bad_tag_data_is_400_with_a_message(client, headers, body):
    _message(client.post(f"{API}/data", headers=headers, data=body, content_type="application/json"), 400)


def test_tag_data_is_queued_while_disconnected_and_the_bound_drops_the_oldest(make_app):
    app = make_app(plugins={"edgehub": {"outbox_max_messages": 10}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    for n in range(25):
        assert client.post(f"{API}/data", headers=headers, json={"n": n, "s": "v", "b": False, "f": 1.5}).status_code == 201
    outbox = client.get(f"{API}/connection", headers=headers).get_json()["outbox"]
    assert outbox["depth"] == 10 and outbox["dropped"] == 15
    service = app.extensions["portald"].host.memos["edgehub"]["service"]
    kept = [json.loads(payload)["d"]["n"] for _id, _topic, payload in service.outbox.pending(0, 100)]
    assert kept == list(range(15, 25))


def test_macaddr_is_the_default_routes_interface(make_app, tmp_path):
    proc, sys = tmp_path / "proc", tmp_path / "sys"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "route").write_text(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth1\t0010A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        "eth1\t00000000\t0100A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
        "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n")
    for name, mac in (("eth0", "00:0b:ab:12:34:56"), ("eth1", "00:0b:ab:ff:ff:ff")):
        (sys / "class" / "net" / name).mkdir(parents=True)
        (sys / "class" / "net" / name / "address").write_text(mac + "\n")
    app = make_app(procfs_root=str(proc), sysfs_root=str(sys))
    client = app.test_client()
    response = client.get(f"{API}/macaddr", headers=bearer(admin_token(client)))
    assert response.status_code == 200 and response.get_json() == "00:0B:AB:12:34:56"


def test_macaddr_is_404_without_a_default_route(client, headers):
    _message(client.get(f"{API}/macaddr", headers=headers), 404)


def test_a_topic_setting_with_another_placeholder_fails_the_plugin(make_app):
    app = make_app(plugins={"edgehub": {"data_topic": "Advantech/{device}/data"}})
    plugins = {p["name"]: p for p in app.extensions["portald"].host.status()["plugins"]}
    assert plugins["edgehub"]["state"] == "failed" and "data_topic" in plugins["edgehub"]["reason"]
