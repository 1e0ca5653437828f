"""The ``Host`` allow-list against DNS rebinding: the device's own names and addresses (with or without a
port, IPv6 in brackets) are served, configured names too, anything else is 421 ``{"message": ...}``
before any view runs — the login included."""
from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys

import pytest

from portald.request_guards import HostAllowList, _host_part

PING = "/platform/api/ping"
LOGIN = {"username": "admin", "password": "p@ssw0rd"}


def _get(client, host: str, path: str = PING):
    return client.get(path, headers={"Host": host})


def test_the_test_client_and_the_devices_own_names_are_served(app):
    client = app.test_client()
    assert client.get(PING).status_code == 200  # werkzeug's test client says Host: localhost
    hostname = socket.gethostname()
    for host in ("localhost", "localhost:8443", "LOCALHOST.", "127.0.0.1", "127.0.0.1:8443", "127.8.9.10",
                 "[::1]", "[::1]:8443", hostname, f"{hostname}:8443", f"{hostname.split('.')[0]}.local"):
        assert _get(client, host).status_code == 200, host


def test_a_foreign_host_is_421_with_a_message_and_the_security_headers(app):
    client = app.test_client()
    for host in ("rebind.attacker.example", "rebind.attacker.example:8443", "127.0.0.1.nip.io", "192.0.2.7",
                 "[2001:db8::1]:8443", "localhost.attacker.example"):
        response = _get(client, host)
        assert response.status_code == 421, host
        assert "allowed_hosts" in response.get_json()["message"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_rebound_login_gets_no_token(app):
    response = app.test_client().post("/auth/login?m=2", json=LOGIN, headers={"Host": "rebind.attacker.example"})
    assert response.status_code == 421
    assert "token" not in response.get_json()
    assert "jwt" not in response.headers.get("Set-Cookie", "")


def test_configured_names_are_added_and_star_allows_any(make_app):
    client = make_app(server={"allowed_hosts": ["Edge-07.Plant.example", "10.9.8.7"]}).test_client()
    assert _get(client, "edge-07.plant.example:8443").status_code == 200
    assert _get(client, "10.9.8.7").status_code == 200
    assert _get(client, "localhost").status_code == 200  # the built-in names stay
    assert _get(client, "other.plant.example").status_code == 421
    open_client = make_app(server={"allowed_hosts": ["*"]}).test_client()
    assert _get(open_client, "anything.example").status_code == 200


def test_the_listen_address_is_allowed(make_app):
    client = make_app(server={"listen": "portal.lan:8443"}).test_client()
    assert _get(client, "portal.lan:8443").status_code == 200


def test_an_address_of_this_machine_is_allowed():
    addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    guard = HostAllowList(lambda environ, start: [b""])
    for address in addresses:
        assert guard.allowed(address), address
    assert not guard.allowed("192.0.2.1")
    assert not guard.allowed("0.0.0.0")


def test_a_request_without_host_is_served(app):
    # HTTP/1.0 tools may send none; a browser (the rebinding vector) always does
    statuses = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": PING, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
               "SERVER_PROTOCOL": "HTTP/1.0", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
               "wsgi.errors": sys.stderr, "REMOTE_ADDR": "127.0.0.1"}
    body = b"".join(app.wsgi_app(environ, lambda status, headers, exc=None: statuses.append(status)))
    assert statuses[0].startswith("200") and body.strip() == b"pong"


def test_refusals_are_logged_once_per_name_at_info(app, caplog):
    client = app.test_client()
    with caplog.at_level(logging.DEBUG, logger="portald.server"):
        for _ in range(5):
            _get(client, "rebind.attacker.example")
    refusals = [r for r in caplog.records if "rebind.attacker.example" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].levelno == logging.INFO


@pytest.mark.parametrize("raw, host", [("Example.COM:80", "example.com"), ("[::1]:8443", "::1"), ("::1", "::1"),
                                       ("host.", "host"), ("[fe80::1]", "fe80::1")])
def test_host_part(raw, host):
    assert _host_part(raw) == host


def test_config_key_is_validated_and_check_still_works(tmp_path):
    config = tmp_path / "portald.toml"
    config.write_text('[server]\nallowed_hosts = ["edge-07.plant.example"]\n')
    env = dict(os.environ, PORTALD_PLUGINS_DIR=str(tmp_path / "none"), PORTALD_STATE_DIR=str(tmp_path / "s"))
    result = subprocess.run([sys.executable, "-m", "portald", "check", "--sim", "--config", str(config)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    config.write_text('[server]\nallowed_hosts = "edge-07"\n')
    result = subprocess.run([sys.executable, "-m", "portald", "check", "--sim", "--config", str(config)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2 and "allowed_hosts" in result.stderr
