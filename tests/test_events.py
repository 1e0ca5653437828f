"""The event bus and Server-Sent Events: /platform/api/events and per-resource streams."""
from __future__ import annotations

import json
import socket

import gevent
import gevent.socket

from portald.server import NoDelayWSGIServer, QuietHandler

from conftest import admin_token, bearer, sse_frames, write_dropin

COUNTER_PLUGIN = '''
"""A test event source: a counter that changes on every snapshot."""
from portald.hookspecs import hookimpl

class Counter:
    interval = {interval}
    def __init__(self):
        self.n = 0
    def snapshot(self):
        self.n += 1
        return {{"n": self.n}}

@hookimpl
def portald_event_sources(ctx):
    return {{"systemperf": ctx.memo("counter", Counter)}}
'''

SSE = {"Accept": "text/event-stream"}


def _app_with_counter(make_app, tmp_path, interval=0.01, **overrides):
    write_dropin(tmp_path, "counter", COUNTER_PLUGIN.format(interval=interval))
    return make_app(**overrides)


def test_events_stream_carries_named_events(make_app, tmp_path):
    app = _app_with_counter(make_app, tmp_path)
    client = app.test_client()
    token = admin_token(client)
    response = client.get(f"/platform/api/events?token={token}", headers=SSE, buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    frames = sse_frames(response, 4)
    response.close()
    names = {name for name, _ in frames}
    assert names <= {"diskdrives", "hwmon", "netifaces", "processes", "pwrstatus", "snmptrap", "systemperf"}
    assert "systemperf" in names
    counts = [json.loads(data)["n"] for name, data in frames if name == "systemperf"]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)
    hwmon = [json.loads(data) for name, data in frames if name == "hwmon"]
    for data in hwmon:
        assert set(data) == {"temperature", "voltage", "current", "fanspeed"}


def test_per_resource_hwmon_stream_sends_message_events_with_the_get_json(client, admin_headers):
    plain = client.get("/platform/api/hwmon", headers=admin_headers).get_json()
    response = client.get("/platform/api/hwmon", headers={**admin_headers, **SSE}, buffered=False)
    (name, data), = sse_frames(response, 1)
    response.close()
    assert name == "message"
    streamed = json.loads(data)
    assert set(streamed) == set(plain)
    assert [r["name"] for r in streamed["voltage"]] == [r["name"] for r in plain["voltage"]]


def test_one_snapshot_per_tick_whatever_the_number_of_subscribers(make_app, tmp_path):
    app = _app_with_counter(make_app, tmp_path, interval=0.05)
    bus = app.extensions["portald"].host.events
    subs = [bus.subscribe(["systemperf"]) for _ in range(50)]
    gevent.sleep(0.26)
    pump = bus.pumps["systemperf"]
    assert 3 <= pump.snapshots <= 7
    for sub in subs:
        assert sub.queue.qsize() >= 3
        bus.unsubscribe(sub)
    assert pump.greenlet is None
    stopped_at = pump.snapshots
    gevent.sleep(0.1)
    assert pump.snapshots == stopped_at


def test_slow_subscriber_loses_old_events_not_memory(make_app, tmp_path):
    app = _app_with_counter(make_app, tmp_path, interval=0.001)
    bus = app.extensions["portald"].host.events
    sub = bus.subscribe(["systemperf"])
    gevent.sleep(0.2)
    assert sub.queue.qsize() <= 16 and sub.dropped > 0
    newest = [json.loads(sub.queue.get_nowait().split(b"data: ")[1]) for _ in range(sub.queue.qsize())]
    assert newest[-1]["n"] > 16
    bus.unsubscribe(sub)


def test_stream_cap_answers_503(make_app, tmp_path):
    app = _app_with_counter(make_app, tmp_path, server={"max_streams": 2})
    client = app.test_client()
    headers = {**bearer(admin_token(client)), **SSE}
    open_ = [client.get("/platform/api/events", headers=headers, buffered=False) for _ in range(2)]
    for response in open_:
        next(iter(response.response))
    third = client.get("/platform/api/events", headers=headers)
    assert third.status_code == 503 and third.get_json()["message"]
    for response in open_:
        response.close()
    assert app.extensions["portald"].host.events.streams == 0
    again = client.get("/platform/api/events", headers=headers, buffered=False)
    assert again.status_code == 200
    again.close()


def test_heartbeat_comment_between_events(make_app):
    app = make_app(board="auto", server={"heartbeat_seconds": 0.05})
    client = app.test_client()
    # hwmon is declared but has no sensors under the empty sysfs root: nothing but heartbeats can arrive
    response = client.get("/platform/api/events?events=hwmon", headers={**bearer(admin_token(client)), **SSE}, buffered=False)
    chunks = iter(response.response)
    with gevent.Timeout(2):
        assert next(chunks) == b": stream open\n\n"
        assert next(chunks) == b": heartbeat\n\n"
    response.close()


def test_events_need_a_token_and_query_token_works(client):
    response = client.get("/platform/api/events", headers=SSE)
    assert response.status_code == 401 and response.get_json()["Code"] == 401
    token = admin_token(client)
    streamed = client.get(f"/platform/api/events?token={token}", headers=SSE, buffered=False)
    assert streamed.status_code == 200
    streamed.close()


def test_an_event_no_plugin_declares_is_refused_and_a_declared_one_is_accepted(make_app, tmp_path):
    """Event names come from the plugins' declarations, not from a list in the events plugin."""
    write_dropin(tmp_path, "sneaky",
        "from portald.hookspecs import hookimpl\n\n"
        "class Source:\n    def snapshot(self):\n        return {}\n\n"
        "@hookimpl\ndef portald_event_sources(ctx):\n    return {'sneaky': Source()}\n")
    write_dropin(tmp_path, "traps",
        "from portald.capability import Capability\n\n"
        "CAPABILITY = Capability('traps', None, events={'snmptrap': lambda ctx: None})\n"
        "CAPABILITY.export(globals())\n")
    app = make_app()
    client = app.test_client()
    headers = {**bearer(admin_token(client)), **SSE}
    bus = app.extensions["portald"].host.events
    assert "sneaky" not in bus.pumps and "sneaky" not in bus.declared
    assert "snmptrap" in bus.declared and "snmptrap" not in bus.pumps  # declared, no data here
    assert client.get("/platform/api/events?events=sneaky", headers=headers).status_code == 400
    response = client.get("/platform/api/events?events=snmptrap", headers=headers, buffered=False)
    assert response.status_code == 200
    response.close()


def test_unknown_event_filter_is_400(client, admin_headers):
    response = client.get("/platform/api/events?events=hwmon,bogus", headers={**admin_headers, **SSE})
    assert response.status_code == 400 and "bogus" in response.get_json()["errors"]["validator"]


def test_closed_client_frees_its_stream_promptly(make_app):
    """Over a real socket: the stream ends as soon as the client closes, not at the next heartbeat."""
    app = make_app(server={"heartbeat_seconds": 30})
    token = admin_token(app.test_client())
    bus = app.extensions["portald"].host.events
    server = NoDelayWSGIServer(("127.0.0.1", 0), app, handler_class=QuietHandler, log=None)
    server.start()
    try:
        conn = gevent.socket.create_connection(("127.0.0.1", server.server_port))
        conn.sendall(f"GET /platform/api/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
                     f"Authorization: Bearer {token}\r\n\r\n".encode())
        with gevent.Timeout(5):
            received = b""
            while b"stream open" not in received:
                received += conn.recv(4096)
        assert b"200 OK" in received and bus.streams == 1
        conn.shutdown(socket.SHUT_RDWR)
        conn.close()
        with gevent.Timeout(2):
            while bus.streams:
                gevent.sleep(0.01)
        assert all(p.greenlet is None for p in bus.pumps.values())
    finally:
        server.stop(timeout=1)


def test_stream_closed_before_its_first_byte_is_released(client, admin_headers, app):
    response = client.get("/platform/api/events", headers={**admin_headers, **SSE}, buffered=False)
    response.close()
    bus = app.extensions["portald"].host.events
    assert bus.streams == 0 and all(not p.subscribers for p in bus.pumps.values())


def test_a_new_subscriber_gets_unchanged_data_after_everyone_left(make_app, tmp_path):
    """A reconnecting EventSource must see the current state even when it has not changed."""
    write_dropin(tmp_path, "steady",
        "from portald.capability import Capability\n\n"
        "class Steady:\n    interval = 0.01\n    def snapshot(self):\n        return {'vin1State': 1}\n\n"
        "CAPABILITY = Capability('steady', None, events={'snmptrap': lambda ctx: Steady()})\n"
        "CAPABILITY.export(globals())\n")
    app = make_app()
    client = app.test_client()
    headers = {**bearer(admin_token(client)), **SSE}
    for _ in range(2):
        response = client.get("/platform/api/events?events=snmptrap", headers=headers, buffered=False)
        assert sse_frames(response, 1) == [("snmptrap", '{"vin1State":1}')]
        response.close()


def test_logout_ends_an_open_stream(make_app):
    app = make_app(board="auto", server={"heartbeat_seconds": 0.05})
    client = app.test_client()
    token = admin_token(client)
    response = client.get("/platform/api/events?events=hwmon", headers={**bearer(token), **SSE}, buffered=False)
    chunks = iter(response.response)
    with gevent.Timeout(2):
        assert next(chunks) == b": stream open\n\n"
        assert next(chunks) == b": heartbeat\n\n"
        assert client.post("/auth/logout", headers=bearer(token)).status_code == 200
        assert list(chunks) == []  # the stream ended by itself
    response.close()


def test_one_user_cannot_take_every_stream_slot(make_app, tmp_path):
    app = _app_with_counter(make_app, tmp_path, server={"max_streams": 10, "max_streams_per_user": 2})
    client = app.test_client()
    headers = {**bearer(admin_token(client)), **SSE}
    open_ = [client.get("/platform/api/events", headers=headers, buffered=False) for _ in range(2)]
    third = client.get("/platform/api/events", headers=headers)
    assert third.status_code == 503 and "admin" in third.get_json()["message"]
    for response in open_:
        response.close()
