"""``/platform/api/networking/wifi/*`` on the sim board: adapters and profiles, scans, deleting a
profile, joining a network (an addition), bad input in the spec's shapes, privileges, rollback."""
from __future__ import annotations

import time
from urllib.parse import quote

import gevent
import pytest

from conftest import admin_token, assert_each_answers, bearer, login

BASE = "/platform/api/networking/wifi"
NETWORK_FIELDS = {"ssid", "ssidHex", "bssid", "channel", "signalQuality", "signalStrength",
                  "authenticationAlgorithm", "cipherAlgorithm", "securityEnabled", "connectable",
                  "alreadyConnected", "profileAvailable", "profileName", "infrastructureType", "physicalTypes"}


@pytest.fixture
def wifi(make_app):
    client = make_app(changes={"confirm_timeout_seconds": 2}).test_client()
    return client, bearer(admin_token(client))


def profiles(client, headers) -> list[str]:
    (adapter,) = client.get(f"{BASE}/interfaces", headers=headers).get_json()
    return [p["name"] for p in adapter["profiles"]]


def wlan0_connected(client, headers, within: float = 3.0) -> bool:
    """wlan0's ``connected`` once the networking plugin's sampler has read the adapters again."""
    deadline = time.monotonic() + within
    while True:
        connected = client.get("/platform/api/networking/interfaces", headers=headers).get_json()[2]["connected"]
        if not connected or time.monotonic() > deadline:
            return connected
        gevent.sleep(0.2)


def test_interfaces_list_the_adapter_with_its_profiles(wifi):
    client, headers = wifi
    response = client.get(f"{BASE}/interfaces", headers=headers)
    assert response.status_code == 200
    assert response.get_json() == [{"ifIndex": 4, "uuid": "wlan0", "description": "Intel Corporation Wi-Fi 6 AX200 (sim)",
                                    "profiles": [{"name": "Plant-Floor", "allUserProfile": True,
                                                  "groupPolicyProfile": False, "perUserProfile": False}]}]
    assert client.get("/edgehub/api/profile", headers=headers).get_json()["networking:wifi"] == 1


def test_scan_shows_every_network_with_the_spec_fields(wifi):
    client, headers = wifi
    response = client.get(f"{BASE}/networks/wlan0", headers=headers)
    assert response.status_code == 200
    found = {n["ssid"]: n for n in response.get_json()}
    assert all(set(n) == NETWORK_FIELDS for n in found.values())
    floor = found["Plant-Floor"]
    assert floor["alreadyConnected"] and floor["profileAvailable"] and floor["profileName"] == "Plant-Floor"
    assert (floor["authenticationAlgorithm"], floor["cipherAlgorithm"], floor["channel"]) == ("WPA2-Personal", "AES", 6)
    assert -100 <= floor["signalStrength"] < 0 and 0 <= floor["signalQuality"] <= 100
    assert not found["Guest"]["securityEnabled"] and not found["Corp-Secure"]["connectable"]
    odd = next(n for n in found.values() if n["ssidHex"] == b"Halle\xe4-Nord".hex())
    assert odd["ssid"] == "Halle\ufffd-Nord"
    strengths = [n["signalStrength"] for n in response.get_json()]
    assert strengths == sorted(strengths, reverse=True)


def test_connect_then_delete_the_profile_with_confirmation(wifi):
    client, headers = wifi
    response = client.post(f"{BASE}/interface/wlan0/connect", json={"ssid": "Guest"}, headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["profileName"] == "Guest"
    assert client.post(body["confirmation"]["confirmUrl"], headers=headers).status_code == 200
    assert profiles(client, headers) == ["Guest", "Plant-Floor"]
    scan = {n["ssid"]: n for n in client.get(f"{BASE}/networks/wlan0", headers=headers).get_json()}
    assert scan["Guest"]["alreadyConnected"] and not scan["Plant-Floor"]["alreadyConnected"]

    response = client.delete(f"{BASE}/interface/wlan0/profile/Plant-Floor", headers=headers)
    assert response.status_code == 200 and "confirmation" in response.get_json()
    assert profiles(client, headers) == ["Guest"]


def test_a_non_utf8_ssid_is_joined_by_its_hex(wifi):
    client, headers = wifi
    response = client.post(f"{BASE}/interface/wlan0/connect",
                           json={"ssidHex": b"Halle\xe4-Nord".hex(), "passphrase": "nordhalle-1"}, headers=headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["profileName"] == "Halle\ufffd-Nord"


def test_an_unconfirmed_profile_deletion_comes_back(wifi):
    client, headers = wifi
    assert client.delete(f"{BASE}/interface/wlan0/profile/Plant-Floor", headers=headers).status_code == 200
    assert profiles(client, headers) == []
    assert wlan0_connected(client, headers) is False  # (the adapters are re-read every 2 s)
    gevent.sleep(3)
    assert profiles(client, headers) == ["Plant-Floor"]
    scan = {n["ssid"]: n for n in client.get(f"{BASE}/networks/wlan0", headers=headers).get_json()}
    assert scan["Plant-Floor"]["alreadyConnected"]


@pytest.mark.parametrize("body, message", [
    ({"ssid": "Plant-Floor", "passphrase": "wrong-passphrase"}, "wrong passphrase"),
    ({"ssid": "Corp-Secure", "passphrase": "whatever12"}, "Enterprise"),
    ({"ssid": "Nowhere", "passphrase": "whatever12"}, "no access point"),
])
def test_connect_failures_are_422_wifi_and_leave_no_profile(wifi, body, message):
    client, headers = wifi
    response = client.post(f"{BASE}/interface/wlan0/connect", json=body, headers=headers)
    assert response.status_code == 422 and message in response.get_json()["errors"]["WiFi"]
    assert profiles(client, headers) == ["Plant-Floor"]
    assert client.get("/platform/api/networking/changes", headers=headers).get_json() == {"pending": None}


@pytest.mark.parametrize("body", [
    {}, {"ssid": ""}, {"ssid": "x" * 33}, {"ssid": "Guest", "ssidHex": "4775657374"}, {"ssidHex": "zz"},
    {"ssid": "Guest", "passphrase": "short"}, {"ssid": "Guest", "passphrase": "g" * 64}, {"ssid": 5},
    {"ssid": "Guest", "extra": True},
])
def test_connect_bad_bodies_are_422_validator(wifi, body):
    client, headers = wifi
    response = client.post(f"{BASE}/interface/wlan0/connect", json=body, headers=headers)
    assert response.status_code == 422 and "validator" in response.get_json()["errors"], response.get_json()


@pytest.mark.parametrize("name", ["", " "])
def test_delete_with_an_empty_profile_name_is_the_spec_400(wifi, name):
    client, headers = wifi
    response = client.delete(f"{BASE}/interface/wlan0/profile/{name}", headers=headers)
    assert response.status_code == 400 and response.get_json() == {"errors": {"WiFi": "invalid profile name"}}
    response = client.delete(f"{BASE}/interface/wlan0/profile", headers=headers)
    assert response.status_code == 400 and response.get_json() == {"errors": {"WiFi": "invalid profile name"}}


@pytest.mark.parametrize("name", ["Nope", "Plant-Floor; rm -rf /", "a\nb", "'\"$(reboot)\"'", "../../etc/passwd"])
def test_delete_an_unknown_or_hostile_profile_name_is_422_and_changes_nothing(wifi, name):
    client, headers = wifi
    response = client.delete(f"{BASE}/interface/wlan0/profile/{quote(name, safe='')}", headers=headers)
    assert response.status_code == 422 and "WiFi" in response.get_json()["errors"]
    assert profiles(client, headers) == ["Plant-Floor"]


def test_hostile_ssids_are_data(wifi):
    client, headers = wifi
    for ssid in ("Guest\"; reboot #", "a\nb", "$(id)"):
        response = client.post(f"{BASE}/interface/wlan0/connect", json={"ssid": ssid}, headers=headers)
        assert response.status_code == 422 and "no access point" in response.get_json()["errors"]["WiFi"]


def test_unknown_adapter_is_422_wifi(wifi):
    client, headers = wifi
    for response in (client.get(f"{BASE}/networks/wlan9", headers=headers),
                     client.delete(f"{BASE}/interface/wlan9/profile/Plant-Floor", headers=headers),
                     client.post(f"{BASE}/interface/wlan9/connect", json={"ssid": "Guest"}, headers=headers)):
        assert response.status_code == 422 and "WiFi" in response.get_json()["errors"]


def test_every_route_needs_a_token(wifi):
    client, _ = wifi
    assert_each_answers(client, [(method, BASE + url, {}) for method, url in (
        ("get", "/interfaces"), ("get", "/networks/wlan0"), ("delete", "/interface/wlan0/profile/Plant-Floor"),
        ("post", "/interface/wlan0/connect"))], 401)


def test_os_user_reads_and_scans_but_may_not_change(wifi, os_user_factory):
    client, _ = wifi
    user = os_user_factory()
    headers = bearer(login(client, user.name, user.password, m=0).get_json()["token"])
    assert client.get(f"{BASE}/interfaces", headers=headers).status_code == 200
    assert client.get(f"{BASE}/networks/wlan0", headers=headers).status_code == 200
    assert_each_answers(client, [("delete", f"{BASE}/interface/wlan0/profile/Plant-Floor", None),
                                 ("post", f"{BASE}/interface/wlan0/connect", {"ssid": "Guest"})], 403, headers)


def test_without_a_wifi_driver_the_list_is_empty(make_app):
    client = make_app(disabled_plugins=["sim"], board="auto", sysfs_root="/nonexistent").test_client()
    headers = bearer(admin_token(client))
    assert client.get(f"{BASE}/interfaces", headers=headers).get_json() == []
    response = client.get(f"{BASE}/networks/wlan0", headers=headers)
    assert response.status_code == 422 and "WiFi" in response.get_json()["errors"]
