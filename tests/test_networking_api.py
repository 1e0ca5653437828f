"""``/platform/api/networking/*`` (Wi-Fi apart) on the sim board: reading, static/DHCP, route order,
validation in the spec's shapes, privileges, and the confirmation window with its rollback."""
from __future__ import annotations

import gevent
import pytest

from conftest import ADMIN_PASSWORD, admin_token, assert_each_answers, bearer, login, sse_frames

BASE = "/platform/api/networking"
STATIC = {"ipAddress": "192.168.10.50", "subnetMask": "255.255.255.0", "defaultGateway": "192.168.10.1",
          "primaryDNS": "192.168.10.1", "secondaryDNS": None}
FIELDS = {"ifIndex", "uuid", "name", "description", "type", "typeId", "mtu", "connected", "isDefault",
          "dhcpEnabled", "hardwareAddress", "speed", "sendSpeed", "recvSpeed", "addresses", "gateway", "dns",
          "dnssuffix", "ipv4Metric", "ipv6Metric", "iocounters"}
COUNTERS = {"ifindex", "bytesSent", "bytesRecv", "packetsSent", "packetsRecv", "errin", "errout", "dropin",
            "dropout", "fifoin", "fifoout"}


@pytest.fixture
def net(make_app):
    """A sim-board client with an admin token and a short confirmation window (2 s)."""
    client = make_app(changes={"confirm_timeout_seconds": 2}).test_client()
    return client, bearer(admin_token(client))


def adapters(client, headers) -> dict[str, dict]:
    response = client.get(f"{BASE}/interfaces", headers=headers)
    assert response.status_code == 200, response.get_json()
    return {row["name"]: row for row in response.get_json()}


def relogin(client) -> dict:
    """The admin's headers on a restarted daemon (its password was changed by the first run)."""
    return bearer(login(client, "admin", ADMIN_PASSWORD).get_json()["token"])


def confirm(client, headers, pending):
    return client.post(pending["confirmUrl"], headers=headers)


def test_interfaces_have_every_field_and_the_profile_counts_them(net):
    client, headers = net
    rows = adapters(client, headers)
    assert set(rows) == {"eth0", "eth1", "wlan0"}
    eth0 = rows["eth0"]
    assert set(eth0) == FIELDS and set(eth0["iocounters"]) == COUNTERS
    assert (eth0["type"], eth0["typeId"], eth0["speed"], eth0["sendSpeed"]) == ("Ethernet", 6, "1 Gbps", 10**9)
    assert rows["wlan0"]["typeId"] == 71 and rows["eth1"]["speed"] == "100 Mbps"
    assert eth0["dhcpEnabled"] and eth0["addresses"][0].startswith("192.168.10.") and eth0["isDefault"]
    assert eth0["iocounters"]["ifindex"] == eth0["ifIndex"]
    assert [r["ifIndex"] for r in client.get(f"{BASE}/interfaces", headers=headers).get_json()] == [2, 3, 4]
    assert client.get("/edgehub/api/profile", headers=headers).get_json()["networking:interfaces"] == 3


def test_interfaces_as_server_sent_events_and_the_netifaces_event(net):
    client, headers = net
    response = client.get(f"{BASE}/interfaces", headers={**headers, "Accept": "text/event-stream"}, buffered=False)
    (event, data), = sse_frames(response, 1)
    assert event == "message" and '"ifIndex":2' in data
    response = client.get("/platform/api/events?events=netifaces", headers=headers, buffered=False)
    (event, data), = sse_frames(response, 1)
    assert event == "netifaces" and '"uuid":"eth0"' in data


def test_static_then_dhcp_with_confirmation(net):
    client, headers = net
    response = client.put(f"{BASE}/ipv4config/2", json=STATIC, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    pending = body.pop("confirmation")
    assert body == {**STATIC, "secondaryDNS": ""}
    assert pending["confirmMethod"] == "POST" and pending["timeoutSeconds"] == 2 and 0 < pending["secondsLeft"] <= 2
    eth0 = adapters(client, headers)["eth0"]
    assert eth0["addresses"][0] == "192.168.10.50/24" and not eth0["dhcpEnabled"] and eth0["dns"] == ["192.168.10.1"]
    assert client.get(f"{BASE}/changes", headers=headers).get_json()["pending"]["id"] == pending["id"]
    assert confirm(client, headers, pending).status_code == 200
    assert client.get(f"{BASE}/changes", headers=headers).get_json() == {"pending": None}
    gevent.sleep(2.5)  # past the window: confirmed, so nothing comes back
    assert adapters(client, headers)["eth0"]["addresses"][0] == "192.168.10.50/24"

    response = client.delete(f"{BASE}/ipv4config/2", headers=headers)
    assert response.status_code == 200 and "confirmation" in response.get_json()
    assert adapters(client, headers)["eth0"]["dhcpEnabled"]


def test_an_unconfirmed_change_is_rolled_back(net):
    client, headers = net
    before = adapters(client, headers)["eth0"]["addresses"]
    assert client.put(f"{BASE}/ipv4config/2", json=STATIC, headers=headers).status_code == 200
    assert adapters(client, headers)["eth0"]["addresses"] != before
    gevent.sleep(3)
    assert adapters(client, headers)["eth0"]["addresses"] == before
    assert client.get(f"{BASE}/changes", headers=headers).get_json() == {"pending": None}


def test_later_changes_join_the_window_and_roll_back_to_the_first_snapshot(net):
    client, headers = net
    first = client.put(f"{BASE}/ipv4config/2", json=STATIC, headers=headers).get_json()["confirmation"]
    second = client.put(f"{BASE}/ipv4config/3", json={**STATIC, "ipAddress": "10.20.0.9", "defaultGateway": "",
                                                       "subnetMask": "255.255.0.0"}, headers=headers)
    assert second.get_json()["confirmation"]["id"] == first["id"]
    assert len(second.get_json()["confirmation"]["changes"]) == 2
    response = client.delete(f"{BASE}/changes/{first['id']}", headers=headers)  # roll back now
    assert response.status_code == 200
    rows = adapters(client, headers)
    assert rows["eth0"]["dhcpEnabled"] and rows["eth1"]["addresses"][0] == "10.20.0.5/24"


def test_the_window_survives_a_restart_and_rolls_back_after_it(make_app):
    config = {"changes": {"confirm_timeout_seconds": 2}}
    client = make_app(**config).test_client()
    headers = bearer(admin_token(client))
    before = adapters(client, headers)["eth0"]
    assert client.put(f"{BASE}/ipv4config/2", json=STATIC, headers=headers).status_code == 200
    client.application.extensions["portald"].host.shutdown()  # the daemon stops: its timer with it
    restarted = make_app(**config).test_client()  # same state dir: the record is read again
    headers = relogin(restarted)
    pending = restarted.get(f"{BASE}/changes", headers=headers).get_json()["pending"]
    assert pending is not None and pending["changes"]
    gevent.sleep(3)
    assert adapters(restarted, headers)["eth0"]["addresses"] == before["addresses"]


def test_route_order_sets_metrics_in_order(net):
    client, headers = net
    response = client.post(f"{BASE}/interfaces/route", json={"sortedGUIDList": ["wlan0", "eth0"]}, headers=headers)
    assert response.status_code == 201 and "confirmation" in response.get_json()
    rows = adapters(client, headers)
    assert (rows["wlan0"]["ipv4Metric"], rows["eth0"]["ipv4Metric"], rows["eth1"]["ipv4Metric"]) == (100, 200, 200)
    assert rows["wlan0"]["isDefault"] and not rows["eth0"]["isDefault"]
    response = client.post(f"{BASE}/interfaces/route", json={"ipv6": True, "sortedGUIDList": ["eth1"]}, headers=headers)
    assert response.status_code == 201 and adapters(client, headers)["eth1"]["ipv6Metric"] == 100


@pytest.mark.parametrize("body, area, status", [
    ({"sortedGUIDList": []}, "networking", 422),
    ({}, "networking", 422),
    ({"ipv6": False}, "networking", 422),
    ({"sortedGUIDList": ["eth9"]}, "networking", 422),
    ({"sortedGUIDList": ["eth0", "eth0"]}, "networking", 422),
    ({"sortedGUIDList": "eth0"}, "validator", 422),
    ({"sortedGUIDList": [1]}, "validator", 422),
    ({"ipv6": "yes", "sortedGUIDList": ["eth0"]}, "validator", 422),
    ({"sortedGUIDList": ["eth0"], "extra": 1}, "validator", 422),
])
def test_route_order_bad_input(net, body, area, status):
    client, headers = net
    response = client.post(f"{BASE}/interfaces/route", json=body, headers=headers)
    assert response.status_code == status and area in response.get_json()["errors"], response.get_json()
    if body in ({"sortedGUIDList": []}, {}):
        assert response.get_json() == {"errors": {"networking": "empty list"}}
    assert client.get(f"{BASE}/changes", headers=headers).get_json() == {"pending": None}


def test_route_order_body_that_is_not_json(net):
    client, headers = net
    response = client.post(f"{BASE}/interfaces/route", data="{", headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 422 and "validator" in response.get_json()["errors"]


@pytest.mark.parametrize("change, area", [
    ({"ipAddress": None}, "validator"),
    ({"ipAddress": "192.168.10"}, "validator"),
    ({"ipAddress": "192.168.10.256"}, "validator"),
    ({"ipAddress": "192.168.010.5"}, "validator"),
    ({"ipAddress": " 192.168.10.5"}, "validator"),
    ({"subnetMask": "255.0.255.0"}, "validator"),
    ({"subnetMask": "0.0.0.0"}, "validator"),
    ({"defaultGateway": "gw"}, "validator"),
    ({"primaryDNS": 8}, "validator"),
    ({"primaryDNS": "", "secondaryDNS": "1.1.1.1"}, "validator"),
    ({"defaultGateway": "192.168.11.1"}, "Net"),
    ({"defaultGateway": "192.168.10.50"}, "Net"),
    ({"ipAddress": "192.168.10.0"}, "Net"),
    ({"ipAddress": "192.168.10.255"}, "Net"),
    ({"ipAddress": "224.0.0.5", "subnetMask": "255.255.255.255", "defaultGateway": ""}, "Net"),
])
def test_static_bad_input_changes_nothing(net, change, area):
    client, headers = net
    body = {**STATIC, **change}
    if change.get("ipAddress", "") is None:
        del body["ipAddress"]
    before = adapters(client, headers)
    response = client.put(f"{BASE}/ipv4config/2", json=body, headers=headers)
    assert response.status_code == 422 and area in response.get_json()["errors"], response.get_json()
    assert adapters(client, headers)["eth0"]["addresses"] == before["eth0"]["addresses"]
    assert client.get(f"{BASE}/changes", headers=headers).get_json() == {"pending": None}


@pytest.mark.parametrize("if_index", ["99", "abc", "-1", "0x2", "2.0", "99999999999"])
def test_unknown_or_malformed_ifindex_is_422_net(net, if_index):
    client, headers = net
    for response in (client.put(f"{BASE}/ipv4config/{if_index}", json=STATIC, headers=headers),
                     client.delete(f"{BASE}/ipv4config/{if_index}", headers=headers)):
        assert response.status_code == 422 and "Net" in response.get_json()["errors"], response.get_json()


def test_confirm_or_roll_back_an_unknown_change_is_404(net):
    client, headers = net
    for response in (client.post(f"{BASE}/changes/nope/confirm", headers=headers),
                     client.delete(f"{BASE}/changes/nope", headers=headers)):
        assert response.status_code == 404 and "networking" in response.get_json()["errors"]


def test_every_route_needs_a_token(net):
    client, _ = net
    assert_each_answers(client, [(method, BASE + url, {}) for method, url in (
        ("get", "/interfaces"), ("put", "/ipv4config/2"), ("delete", "/ipv4config/2"), ("post", "/interfaces/route"),
        ("get", "/changes"), ("post", "/changes/x/confirm"), ("delete", "/changes/x"))], 401)


def test_os_user_reads_but_may_not_change(net, os_user_factory):
    client, admin = net
    user = os_user_factory()
    headers = bearer(login(client, user.name, user.password, m=0).get_json()["token"])
    assert client.get(f"{BASE}/interfaces", headers=headers).status_code == 200
    pending = client.put(f"{BASE}/ipv4config/2", json=STATIC, headers=admin).get_json()["confirmation"]
    assert_each_answers(client, [(method, BASE + url, body) for method, url, body in (
        ("put", "/ipv4config/2", STATIC), ("delete", "/ipv4config/2", None),
        ("post", "/interfaces/route", {"sortedGUIDList": ["eth0"]}),
        ("post", f"/changes/{pending['id']}/confirm", None), ("delete", f"/changes/{pending['id']}", None))], 403, headers)
    assert client.get(f"{BASE}/changes", headers=headers).get_json()["pending"]["id"] == pending["id"]


def test_sim_configuration_survives_a_restart(make_app):
    client = make_app().test_client()
    headers = bearer(admin_token(client))
    pending = client.put(f"{BASE}/ipv4config/3", json={**STATIC, "ipAddress": "10.20.0.77", "subnetMask": "255.255.255.0",
                                                      "defaultGateway": "10.20.0.1"}, headers=headers).get_json()
    assert confirm(client, headers, pending["confirmation"]).status_code == 200
    again = make_app().test_client()
    assert adapters(again, relogin(again))["eth1"]["addresses"][0] == "10.20.0.77/24"
