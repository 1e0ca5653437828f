"""``POST /edgehub/api/pem/temp`` (PEM checked with ``cryptography``) and ``PUT /edgehub/api/bootstrap/config``
(enrolment against a local provisioning stub, then the link connects to the real Mosquitto it names)."""
from __future__ import annotations

import base64
import io
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import admin_token, bearer
from edgehub_support import JsonStub, Mosquitto, Pki, free_port, started, wait_for  # noqa: F401

API = "/edgehub/api"
TOKEN = ".".join(base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
                 for part in ({"typ": "JWT", "alg": "HS256"}, {"tenant": "t1"})) + ".c2ln"


def _upload(client, headers, content: bytes, field="file"):
    return client.post(f"{API}/pem/temp", headers=headers, content_type="multipart/form-data",
                       data={field: (io.BytesIO(content), "upload.pem")})


def _message(response, status):
    assert response.status_code == status, (response.status_code, response.get_data())
    assert set(response.get_json()) == {"message"}
    return response.get_json()["message"]


@pytest.fixture
def headers(client):
    return bearer(admin_token(client))


def test_pem_types_and_base64(client, headers, tmp_path):
    pki = Pki(tmp_path / "pki")
    cert, key = pki.issue("device")
    for content, kind in ((cert, "CERTIFICATE"), (key, "PRIVATE KEY"), (cert + pki.ca_pem, "CERTIFICATE"),
                          ((tmp_path / "pki" / "crl.pem").read_text(), "X509 CRL")):
        response = _upload(client, headers, content.encode())
        assert response.status_code == 200, response.get_json()
        assert response.get_json() == {"type": kind, "data": base64.b64encode(content.encode()).decode()}
    sec1 = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    assert _upload(client, headers, sec1).get_json()["type"] == "EC PRIVATE KEY"


def test_what_is_not_usable_pem_is_422(client, headers):
    encrypted = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass"))
    broken = b"-----BEGIN CERTIFICATE-----\nTUlJQg==\n-----END CERTIFICATE-----\n"
    for content in (b"hello", b"", broken, encrypted, b"-----BEGIN FOO-----\nAA==\n-----END FOO-----\n",
                    b"x" * (300 * 1024)):
        _message(_upload(client, headers, content), 422)
    _message(_upload(client, headers, broken, field="other"), 422)
    _message(client.post(f"{API}/pem/temp", headers=headers, json={"file": "x"}), 422)


def test_pem_and_bootstrap_need_a_token(client):
    assert client.post(f"{API}/pem/temp", data={}).status_code == 401
    assert client.put(f"{API}/bootstrap/config", json={"tenantToken": TOKEN}).status_code == 401


def test_bootstrap_enrols_and_connects(make_app, tmp_path, started):
    broker = started(Mosquitto(tmp_path / "broker").start())
    service = started(JsonStub("/enrol"))
    service.answer = (200, {"mqttHost": "127.0.0.1", "mqttPort": broker.port, "uuid": "enrolled-1",
                            "username": "u", "password": "from-the-cloud"})
    app = make_app(plugins={"edgehub": {"provisioning_url": service.url, "backoff_base_seconds": 0.05}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    assert client.put(f"{API}/bootstrap/config", headers=headers, json={"tenantToken": TOKEN}).status_code == 201
    _method, _path, authorization, device = service.requests[0]
    assert authorization == f"Bearer {TOKEN}" and set(device) == {"mac", "deviceId", "model"}
    assert client.get(f"{API}/conncfg", headers=headers).get_json()["password"] == "********"
    wait_for(lambda: client.get(f"{API}/connection", headers=headers).get_json()["status"] == "connected")
    stored = app.extensions["portald"].host.config.state_dir / "plugins" / "edgehub" / "bootstrap.json"
    assert json.loads(stored.read_text()) == {"tenantToken": TOKEN} and stored.stat().st_mode & 0o777 == 0o600

    service.answer = (403, {"message": "tenant token expired"})
    message = _message(client.put(f"{API}/bootstrap/config", headers=headers, json={"tenantToken": TOKEN}), 422)
    assert "HTTP 403" in message and "tenant token expired" in message
    service.answer = (200, {"mqttPort": "not a port"})
    assert "no connection setting" in _message(
        client.put(f"{API}/bootstrap/config", headers=headers, json={"tenantToken": TOKEN}), 422)


@pytest.mark.parametrize("body", [{"tenantToken": "not-a-jwt"}, {"tenantToken": 5}, {}, [], {"tenantToken": TOKEN, "x": 1}])
def test_bootstrap_bad_input_is_422(client, headers, body):
    _message(client.put(f"{API}/bootstrap/config", headers=headers, json=body), 422)


def test_bootstrap_without_a_provisioning_url_is_422(client, headers):
    assert "not set up" in _message(client.put(f"{API}/bootstrap/config", headers=headers, json={"tenantToken": TOKEN}), 422)


def test_bootstrap_with_an_unreachable_service_is_422(make_app):
    app = make_app(plugins={"edgehub": {"provisioning_url": f"http://127.0.0.1:{free_port()}/x",
                                        "provisioning_timeout_seconds": 2.0}})
    client = app.test_client()
    assert "did not answer" in _message(client.put(f"{API}/bootstrap/config", headers=bearer(admin_token(client)),
                                                   json={"tenantToken": TOKEN}), 422)
