"""SNMP traps: real traps sent with Debian's ``snmptrap`` (net-snmp) to the receiver on a loopback port,
read back from ``/platform/api/events``; wrong communities, garbage datagrams and a flood are counted
and dropped while the receiver goes on."""
from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess

import gevent
import pytest
from pysnmp.proto import api
from pyasn1.codec.ber import encoder

from conftest import admin_token, bearer, sse_frames

SSE = {"Accept": "text/event-stream"}
ENTERPRISE = "1.3.6.1.4.1.8072.2.3"  # NET-SNMP-EXAMPLES-MIB::netSnmpExampleNotifications


@pytest.fixture
def receiver(make_app):
    """An app whose receiver listens on a free loopback port: (client, auth headers, port, app)."""
    if shutil.which("snmptrap") is None:
        pytest.fail("snmptrap is missing: apt-get install snmp (make test does)")

    def start(**settings):
        table = {"enabled": True, "address": "127.0.0.1", "port": 0, "communities": ["public", "s3cret"], **settings}
        app = make_app(plugins={"snmptrap": table})
        client = app.test_client()
        headers = bearer(admin_token(client))
        stats = client.get("/platform/api/snmptrap/stats", headers=headers)
        assert stats.status_code == 200, stats.get_json()
        return client, headers, stats.get_json()["port"], app

    return start


def _snmptrap(port: int, version: str, community: str, *argv: str) -> None:
    """net-snmp's snmptrap: ``argv`` as its manual has it after the agent (uptime, trap OID or v1's
    enterprise/agent/generic/specific/uptime, then OID type value triples)."""
    # -M/-m: no MIB files are read (none is needed for numeric OIDs; the machine may have none)
    subprocess.run(["snmptrap", "-M", "/nonexistent", "-m", "", "-v", version, "-c", community,
                    f"127.0.0.1:{port}", *argv],
                   check=True, timeout=10, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _stream(client, headers):
    response = client.get("/platform/api/events?events=snmptrap", headers={**headers, **SSE}, buffered=False)
    assert response.status_code == 200
    return response


def _traps(response, count: int) -> list[dict]:
    frames = sse_frames(response, count)
    assert {name for name, _ in frames} == {"snmptrap"}
    return [json.loads(data) for _, data in frames]


def _stats(client, headers) -> dict:
    return client.get("/platform/api/snmptrap/stats", headers=headers).get_json()["counters"]


def _send(port: int, datagram: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(datagram, ("127.0.0.1", port))


def _wait_for(check, timeout: float = 5.0) -> None:
    with gevent.Timeout(timeout):
        while not check():
            gevent.sleep(0.02)


def test_v2c_trap_with_every_variable_type_arrives_on_the_event_stream(receiver):
    client, headers, port, _ = receiver()
    response = _stream(client, headers)
    _snmptrap(port, "2c", "public", "12345", f"{ENTERPRISE}.0.1",
              f"{ENTERPRISE}.2.1", "i", "-42",
              "1.3.6.1.2.1.1.5.0", "s", "héllo",
              "1.3.6.1.2.1.2.2.1.6.1", "x", "00 0b ab 12",
              "1.3.6.1.2.1.1.2.0", "o", "1.3.6.1.4.1.8072",
              "1.3.6.1.2.1.4.20.1.1.1", "a", "10.0.0.1",
              "1.3.6.1.2.1.2.2.1.10.1", "c", "99",
              "1.3.6.1.2.1.2.2.1.5.1", "u", "77",
              "1.3.6.1.2.1.1.3.0", "t", "555",
              "1.3.6.1.2.1.31.1.1.1.6.1", "C", "1234567890123")
    trap, = _traps(response, 1)
    response.close()
    assert trap == {
        "source": "127.0.0.1", "version": "2c", "community": "public", "trapOID": f"{ENTERPRISE}.0.1",
        "uptime": 12345,
        "variables": [
            {"oid": f"{ENTERPRISE}.2.1", "type": "Integer32", "value": -42},
            {"oid": "1.3.6.1.2.1.1.5.0", "type": "OctetString", "value": "héllo"},
            {"oid": "1.3.6.1.2.1.2.2.1.6.1", "type": "OctetString", "value": "000bab12", "hex": True},
            {"oid": "1.3.6.1.2.1.1.2.0", "type": "ObjectIdentifier", "value": "1.3.6.1.4.1.8072"},
            {"oid": "1.3.6.1.2.1.4.20.1.1.1", "type": "IpAddress", "value": "10.0.0.1"},
            {"oid": "1.3.6.1.2.1.2.2.1.10.1", "type": "Counter32", "value": 99},
            {"oid": "1.3.6.1.2.1.2.2.1.5.1", "type": "Gauge32", "value": 77},
            {"oid": "1.3.6.1.2.1.1.3.0", "type": "TimeTicks", "value": 555},
            {"oid": "1.3.6.1.2.1.31.1.1.1.6.1", "type": "Counter64", "value": 1234567890123},
        ]}
    assert _stats(client, headers)["published"] == 1


def test_v1_traps_are_translated_as_rfc_3584_says(receiver):
    client, headers, port, _ = receiver()
    response = _stream(client, headers)
    _snmptrap(port, "1", "s3cret", ENTERPRISE, "10.1.2.3", "6", "17", "4242",
              f"{ENTERPRISE}.2.1", "i", "7")
    _snmptrap(port, "1", "public", ENTERPRISE, "10.1.2.3", "3", "0", "99")  # linkUp
    specific, link_up = _traps(response, 2)
    response.close()
    assert specific == {
        "source": "127.0.0.1", "version": "1", "community": "s3cret", "trapOID": f"{ENTERPRISE}.0.17",
        "uptime": 4242,
        "variables": [{"oid": f"{ENTERPRISE}.2.1", "type": "Integer32", "value": 7},
                      {"oid": "1.3.6.1.6.3.18.1.3.0", "type": "IpAddress", "value": "10.1.2.3"},
                      {"oid": "1.3.6.1.6.3.1.1.4.3.0", "type": "ObjectIdentifier", "value": ENTERPRISE}]}
    assert link_up["trapOID"] == "1.3.6.1.6.3.1.1.5.4" and link_up["uptime"] == 99


def test_two_equal_traps_are_two_events_and_every_stream_gets_each_once(receiver):
    client, headers, port, _ = receiver()
    first, second = _stream(client, headers), _stream(client, headers)
    for _ in range(2):
        _snmptrap(port, "2c", "public", "1", f"{ENTERPRISE}.0.1")
    for response in (first, second):
        assert [t["trapOID"] for t in _traps(response, 2)] == [f"{ENTERPRISE}.0.1"] * 2
    # nothing more: a third frame would be a duplicate
    with pytest.raises(gevent.Timeout):
        sse_frames(first, 1, timeout=0.3)
    first.close()
    second.close()


def test_wrong_community_is_dropped_and_counted(receiver):
    client, headers, port, _ = receiver()
    response = _stream(client, headers)
    _snmptrap(port, "2c", "guess", "1", f"{ENTERPRISE}.0.1")
    _snmptrap(port, "1", "publi", ENTERPRISE, "10.1.2.3", "6", "1", "1")
    _snmptrap(port, "2c", "s3cret", "1", f"{ENTERPRISE}.0.2")
    trap, = _traps(response, 1)
    response.close()
    assert trap["trapOID"] == f"{ENTERPRISE}.0.2" and trap["community"] == "s3cret"
    assert _stats(client, headers) == {"published": 1, "wrongCommunity": 2, "malformed": 0, "notTrap": 0,
                                       "rateLimited": 0}


def _v2c_message(pdu) -> bytes:
    """A v2c message with community "public" around ``pdu``, encoded by pysnmp (not by hand)."""
    message = api.v2c.Message()
    api.v2c.apiMessage.set_defaults(message)
    api.v2c.apiMessage.set_community(message, "public")
    api.v2c.apiMessage.set_pdu(message, pdu)
    return encoder.encode(message)


def _v2c_trap_bytes() -> bytes:
    pdu = api.v2c.TrapPDU()
    api.v2c.apiTrapPDU.set_defaults(pdu)
    return _v2c_message(pdu)


def _get_request_bytes() -> bytes:
    pdu = api.v2c.GetRequestPDU()
    api.v2c.apiPDU.set_defaults(pdu)
    api.v2c.apiPDU.set_varbinds(pdu, [((1, 3, 6, 1, 2, 1, 1, 1, 0), api.v2c.null)])
    return _v2c_message(pdu)


def test_garbage_datagrams_are_counted_and_the_receiver_goes_on(receiver):
    client, headers, port, _ = receiver()
    response = _stream(client, headers)
    good = _v2c_trap_bytes()
    garbage = [os.urandom(64), b"", b"\x30", good[:len(good) // 2], good[:-1], good + b"\x00",
               b"\x30\x84\xff\xff\xff\xff" + good[2:],  # a length far beyond the datagram
               good.replace(b"\x02\x01\x01", b"\x02\x01\x05", 1)]  # SNMP version 6
    for datagram in garbage:
        _send(port, datagram)
    _send(port, _get_request_bytes())
    _send(port, good)
    trap, = _traps(response, 1)
    response.close()
    assert trap["trapOID"] == "1.3.6.1.6.3.1.1.5.1" and trap["variables"] == []  # coldStart, pysnmp's default
    assert _stats(client, headers) == {"published": 1, "wrongCommunity": 0, "malformed": len(garbage),
                                       "notTrap": 1, "rateLimited": 0}


def test_a_flood_beyond_the_rate_is_dropped_unread(receiver):
    client, headers, port, app = receiver(max_traps_per_second=5)
    good = _v2c_trap_bytes()
    for _ in range(50):
        _send(port, good)
    _wait_for(lambda: sum(_stats(client, headers).values()) == 50)
    counters = _stats(client, headers)
    assert 5 <= counters["published"] <= 8 and counters["rateLimited"] == 50 - counters["published"]


def test_off_by_default_yet_the_event_is_declared(client, admin_headers, app):
    stats = client.get("/platform/api/snmptrap/stats", headers=admin_headers)
    assert stats.status_code == 404 and "off" in stats.get_json()["message"]
    plugins = client.get("/platform/api/plugins", headers=admin_headers).get_json()["plugins"]
    record, = [p for p in plugins if p["name"] == "snmptrap"]
    assert record["state"] == "active"
    assert "snmptrap" not in app.extensions["portald"].host.events.pumps  # no source while off
    response = client.get("/platform/api/events?events=snmptrap", headers={**admin_headers, **SSE}, buffered=False)
    assert response.status_code == 200
    response.close()


def test_a_port_in_use_fails_the_plugin_with_the_reason(make_app):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        app = make_app(plugins={"snmptrap": {"enabled": True, "address": "127.0.0.1", "port": port}})
    record, = [r for r in app.extensions["portald"].host.status()["plugins"] if r["name"] == "snmptrap"]
    assert record["state"] == "failed" and f"port {port}" in record["reason"]


def test_the_receiver_stops_with_the_daemon(receiver):
    client, headers, port, app = receiver()
    app.extensions["portald"].shutdown()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(("127.0.0.1", port))  # the port is free again


def test_drops_are_logged_at_most_once_a_minute(receiver, caplog):
    client, headers, port, _ = receiver()
    with caplog.at_level(logging.WARNING, logger="portald.plugins.snmptrap"):
        for _ in range(3):
            _send(port, b"not snmp")
        _wait_for(lambda: _stats(client, headers)["malformed"] == 3)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["SNMP trap datagrams dropped since the last report: malformed 1"]
