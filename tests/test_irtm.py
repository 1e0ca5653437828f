"""``GET /api/irtm/ping`` forwards to a real HTTP server standing in for iFactory RTM on 127.0.0.1."""
from __future__ import annotations

import http.server
import socket
import threading

import pytest


@pytest.fixture
def rtm_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        status = 200

        def do_GET(self):
            self.send_response(Handler.status)
            self.end_headers()
            self.wfile.write(b"pong")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, Handler
    server.shutdown()
    server.server_close()


def test_irtm_ping_pong_when_rtm_answers(make_app, rtm_server):
    server, _ = rtm_server
    client = make_app(plugins={"irtm": {"url": f"http://127.0.0.1:{server.server_port}/ping"}}).test_client()
    response = client.get("/api/irtm/ping")
    assert response.status_code == 200 and response.data == b"pong"


def test_irtm_ping_502_when_rtm_errors(make_app, rtm_server):
    server, handler = rtm_server
    handler.status = 500
    client = make_app(plugins={"irtm": {"url": f"http://127.0.0.1:{server.server_port}/ping"}}).test_client()
    response = client.get("/api/irtm/ping")
    assert response.status_code == 502 and "500" in response.get_json()["message"]


def test_irtm_ping_502_when_nothing_listens(make_app):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_app(plugins={"irtm": {"url": f"http://127.0.0.1:{port}/ping", "timeout_seconds": 1}}).test_client()
    response = client.get("/api/irtm/ping")
    assert response.status_code == 502 and response.get_json()["message"]


def test_irtm_ping_503_when_not_configured(client):
    response = client.get("/api/irtm/ping")
    assert response.status_code == 503
    assert response.get_json() == {"message": "iFactory RTM is not configured"}
