"""The NetworkManager Wi-Fi driver (``wifi_nm``).

Most tests run against a fake NetworkManager (``tests/fixtures/networkmanager/fake_nm.py``) on a real
private ``dbus-daemon``: there is no Wi-Fi hardware here (and ``mac80211_hwsim`` would need a kernel
module), so scans and joins can only be played by a fake; that proves our calls, signatures, flag
mapping and error paths, not a radio. The profile snapshot/restore is also run against the REAL
NetworkManager (``test_networking_nm.NmLab``), which keeps Wi-Fi profiles without a Wi-Fi device.
"""
from __future__ import annotations

import json
import logging
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import gevent
import pytest

from conftest import FIXTURES, admin_token, bearer
from portald.context import Paths
from portald.drivers import DriverError, NotFound
from portald_plugins.boards.linux import nm_dbus, wifi
from portald_plugins.boards.linux.wifi_nm import NmWifiDriver, channel_of, dbm_of, security_of
from test_networking_nm import lab  # noqa: F401 (the real NetworkManager, for the profile tests)

HERE = FIXTURES / "networkmanager"
BUS_CONF = FIXTURES / "services" / "bus.conf"
CAFE = b'Caf\xe9 "Bar"; rm -rf /\n'  # not UTF-8, quotes, ; and a newline
OFFICE = 'Office "2nd"; floor\nB'


@pytest.fixture
def fake_nm(children):
    """A private dbus-daemon with the fake NetworkManager on it; yields the bus address."""
    folder = tempfile.mkdtemp(prefix="portald-wifi-")  # a socket path must stay short
    address = f"unix:path={folder}/bus"
    try:
        bus = children(["dbus-daemon", f"--config-file={BUS_CONF}", f"--address={address}", "--nofork",
                        "--print-address"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        nm = children([sys.executable, str(HERE / "fake_nm.py"), address], stdout=subprocess.PIPE, text=True)
        for proc in (bus, nm):
            ready, _, _ = select.select([proc.stdout], [], [], 5)
            assert ready and proc.stdout.readline(), f"{proc.args[0]} did not start"
        yield SimpleNamespace(address=address, nm=nm)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def driver(fake_nm, tmp_path):
    for index, name in ((3, "wlan0"), (4, "wlan1")):
        (tmp_path / "sys/class/net" / name).mkdir(parents=True)
        (tmp_path / "sys/class/net" / name / "ifindex").write_text(f"{index}\n")
    ctx = SimpleNamespace(paths=Paths(tmp_path / "sys", tmp_path / "proc", tmp_path / "dev"))
    return NmWifiDriver(ctx, wifi.Settings(bus_address=fake_nm.address, scan_timeout_seconds=2,
                                           connect_timeout_seconds=3))


def _profiles(driver, uuid: str = "wlan0") -> list[str]:
    return sorted(p["name"] for p in {i["uuid"]: i for i in driver.interfaces()}[uuid]["profiles"])


def _by_bssid(driver) -> dict[str, dict]:
    return {n["bssid"]: n for n in driver.scan("wlan0")}


def _connected_ssid(driver) -> str | None:
    time.sleep(0.3)  # the fake's activation takes 0.2 s
    found = [n["ssidHex"] for n in driver.scan("wlan0") if n["alreadyConnected"]]
    return bytes.fromhex(found[0]).decode("utf-8", "replace") if found else None


# --- pure mappings -------------------------------------------------------------------------------

@pytest.mark.parametrize("flags,wpa,rsn,expected", [
    (0x0, 0, 0, ("Open", "None")), (0x1, 0, 0, ("WEP", "WEP")),
    (0x1, 0x144, 0, ("WPA-Personal", "TKIP")), (0x1, 0, 0x188, ("WPA2-Personal", "AES")),
    (0x1, 0x14c, 0x14c, ("WPA2-Personal", "TKIP+AES")), (0x1, 0, 0x488, ("WPA3-Personal", "AES")),
    (0x1, 0, 0x588, ("WPA2-Personal", "AES")),  # WPA2/WPA3 transition mode: WPA2 clients join
    (0x1, 0x244, 0, ("WPA-Enterprise", "TKIP")), (0x1, 0, 0x288, ("WPA2-Enterprise", "AES")),
    (0x1, 0, 0x2288, ("WPA3-Enterprise", "AES")), (0x1, 0, 0x888, ("OWE", "AES")),
])
def test_security_of_nm_flags(flags, wpa, rsn, expected):
    assert security_of(flags, wpa, rsn) == expected


@pytest.mark.parametrize("mhz,channel", [(2412, 1), (2437, 6), (2472, 13), (2484, 14), (5180, 36), (5745, 149),
                                         (5955, 1), (6415, 93), (60480, 0)])
def test_channel_of_frequency(mhz, channel):
    assert channel_of(mhz) == channel


def test_dbm_inverts_networkmanagers_quality_map():
    assert (dbm_of(100), dbm_of(0), dbm_of(50), dbm_of(87)) == (-40, -100, -70, -48)


# --- reading -------------------------------------------------------------------------------------

def test_probe_and_create_driver(driver, fake_nm, tmp_path):
    assert driver.probe()
    settings = wifi.Settings(bus_address=f"unix:path={tmp_path}/no-bus")
    absent = wifi.create_driver(SimpleNamespace(paths=None), settings)
    assert absent.name == "linux.wifi" and not absent.probe() and "does not answer" in absent.absent_reason


def test_interfaces_are_the_wifi_adapters_with_the_profiles_usable_on_each(driver):
    found = {i["uuid"]: i for i in driver.interfaces()}
    assert set(found) == {"wlan0", "wlan1"}  # not lo, not eth0
    wlan0 = found["wlan0"]
    assert (wlan0["ifIndex"], wlan0["description"]) == (3, "")
    assert sorted(wlan0["profiles"], key=lambda p: p["name"]) == [
        {"name": "Corp-Secure", "allUserProfile": True, "groupPolicyProfile": False, "perUserProfile": False},
        {"name": OFFICE, "allUserProfile": False, "groupPolicyProfile": False, "perUserProfile": True},
        {"name": "Plant-Floor", "allUserProfile": True, "groupPolicyProfile": False, "perUserProfile": False}]
    assert "wlan1-only" in _profiles(driver, "wlan1") and "wlan1-only" not in _profiles(driver)


def test_scan_maps_every_security_type_and_field(driver):
    found = _by_bssid(driver)
    assert [n["signalQuality"] for n in found.values()] == sorted((n["signalQuality"] for n in found.values()),
                                                                  reverse=True)
    assert found["E0:3F:49:00:04:30"] == {
        "ssid": "Plant-Floor", "ssidHex": b"Plant-Floor".hex(), "bssid": "E0:3F:49:00:04:30", "channel": 6,
        "signalQuality": 87, "signalStrength": -48, "authenticationAlgorithm": "WPA2-Personal",
        "cipherAlgorithm": "AES", "securityEnabled": True, "connectable": True, "alreadyConnected": True,
        "profileAvailable": True, "profileName": "Plant-Floor", "infrastructureType": "Infrastructure",
        "physicalTypes": ["802.11n"]}
    summary = {b: (n["ssid"], n["authenticationAlgorithm"], n["cipherAlgorithm"], n["securityEnabled"],
                   n["connectable"], n["profileName"], n["channel"], n["infrastructureType"], n["physicalTypes"][0])
               for b, n in found.items()}
    assert summary == {
        "E0:3F:49:00:04:30": ("Plant-Floor", "WPA2-Personal", "AES", True, True, "Plant-Floor", 6,
                              "Infrastructure", "802.11n"),
        "E0:3F:49:00:04:34": ("Plant-Floor-5G", "WPA3-Personal", "AES", True, True, "", 36, "Infrastructure",
                              "802.11ac"),
        "A4:2B:B0:11:22:33": ("Guest", "Open", "None", False, True, "", 11, "Infrastructure", "802.11g"),
        "00:1A:1E:AA:BB:CC": ("Corp-Secure", "WPA2-Enterprise", "AES", True, True, "Corp-Secure", 1,
                              "Infrastructure", "802.11n"),  # enterprise: joinable through its profile
        "00:0F:66:01:02:03": ("Legacy-PLC", "WEP", "WEP", True, False, "", 3, "Infrastructure", "802.11b"),
        "00:0F:66:09:08:07": ('Caf\ufffd "Bar"; rm -rf /\n', "WPA2-Personal", "TKIP+AES", True, True, "", 13,
                              "Infrastructure", "802.11n"),
        "02:00:00:00:00:07": ("", "WPA2-Personal", "AES", True, True, "", 149, "Infrastructure", "802.11ac"),
        "02:00:00:00:00:08": ("Cafe-OWE", "OWE", "AES", True, True, "", 1, "Infrastructure", "802.11ax"),
        "02:00:00:00:00:09": ("Lab-IBSS", "Open", "None", False, True, "", 1, "Ad hoc", "802.11g"),
    }
    assert found["00:0F:66:09:08:07"]["ssidHex"] == CAFE.hex()
    assert [n["bssid"] for n in found.values() if n["alreadyConnected"]] == ["E0:3F:49:00:04:30"]


def test_scan_waits_for_fresh_results_and_answers_the_last_ones_when_nm_refuses(driver):
    started = time.monotonic()
    first = driver.scan("wlan0")
    assert time.monotonic() - started >= 0.25  # the fake's scan takes 0.3 s
    started = time.monotonic()
    again = driver.scan("wlan0")  # "Scanning not allowed immediately following previous scan"
    assert time.monotonic() - started < 0.25 and again == first


def test_scan_of_an_unavailable_adapter_answers_without_error(driver):
    assert driver.scan("wlan1") == []


@pytest.mark.parametrize("uuid", ["eth0", "lo", "wlan9", ""])
def test_scan_of_no_wifi_adapter_is_not_found(driver, uuid):
    with pytest.raises(NotFound):
        driver.scan(uuid)


# --- deleting a profile --------------------------------------------------------------------------

def test_delete_profile_with_a_hostile_name(driver):
    driver.delete_profile("wlan0", OFFICE)
    assert _profiles(driver) == ["Corp-Secure", "Plant-Floor"]
    with pytest.raises(NotFound):
        driver.delete_profile("wlan0", OFFICE)


@pytest.mark.parametrize("uuid,name", [("wlan0", "wlan1-only"), ("wlan0", "Office"), ("eth0", "Plant-Floor"),
                                       ("wlan0", "Wired connection 1")])
def test_delete_profile_that_the_adapter_does_not_have_is_not_found(driver, uuid, name):
    with pytest.raises(NotFound):
        driver.delete_profile(uuid, name)
    assert len(_profiles(driver)) == 3


# --- joining -------------------------------------------------------------------------------------

def test_connect_to_a_wpa3_network_creates_a_profile_and_joins(driver):
    assert driver.connect("wlan0", b"Plant-Floor-5G", "conveyor-42") == "Plant-Floor-5G"  # key-mgmt sae
    assert "Plant-Floor-5G" in _profiles(driver)
    assert _connected_ssid(driver) == "Plant-Floor-5G"


def test_connect_with_a_wrong_passphrase_fails_and_leaves_no_profile(driver):
    before = _profiles(driver)
    with pytest.raises(DriverError, match="refused the passphrase"):
        driver.connect("wlan0", b"Plant-Floor-5G", "wrong-passphrase")
    assert _profiles(driver) == before


def test_connect_to_a_non_utf8_ssid_full_of_shell_syntax(driver):
    name = driver.connect("wlan0", CAFE, 'nord;"halle"\n1')
    assert name == 'Caf\ufffd "Bar"; rm -rf /\n'
    cafe = _by_bssid(driver)["00:0F:66:09:08:07"]
    assert cafe["profileAvailable"] and cafe["profileName"] == name and cafe["alreadyConnected"]


def test_connect_to_an_open_and_to_a_hidden_network(driver):
    assert driver.connect("wlan0", b"Guest", None) == "Guest"
    assert _connected_ssid(driver) == "Guest"
    assert driver.connect("wlan0", b"Hidden-Net", "hidden-pass") == "Hidden-Net"
    assert "Hidden-Net" in _profiles(driver)


def test_connect_through_a_saved_enterprise_profile(driver):
    assert driver.connect("wlan0", b"Corp-Secure", None) == "Corp-Secure"
    assert _connected_ssid(driver) == "Corp-Secure"


@pytest.mark.parametrize("ssid,passphrase,message", [
    (b"Plant-Floor-5G", None, "a passphrase is needed"),
    (b"Legacy-PLC", "0123456789", "needs a saved profile"),
    (b"Nowhere", "some-passphrase", "out of range"),
    (b"Guest", "short", "psk: property is invalid"),  # NetworkManager's own validation
])
def test_connect_refusals_leave_the_profiles_alone(driver, ssid, passphrase, message):
    before = _profiles(driver)
    with pytest.raises(DriverError, match=message):
        driver.connect("wlan0", ssid, passphrase)
    assert _profiles(driver) == before


def test_a_failed_join_with_a_saved_profile_keeps_its_old_passphrase(driver):
    with pytest.raises(DriverError):
        driver.connect("wlan0", b"Plant-Floor", "not-the-passphrase")
    assert driver.connect("wlan0", b"Plant-Floor", None) == "Plant-Floor"  # the saved one still works
    assert _connected_ssid(driver) == "Plant-Floor"


def test_connect_on_no_wifi_adapter_is_not_found(driver):
    with pytest.raises(NotFound):
        driver.connect("eth0", b"Guest", None)


# --- the change window ---------------------------------------------------------------------------

def test_restore_brings_back_profiles_secrets_and_the_active_network(driver, caplog):
    caplog.set_level(logging.DEBUG)
    before = _profiles(driver)
    snapshot = driver.snapshot(30)
    assert json.loads(json.dumps(snapshot)) == snapshot  # the daemon stores it as JSON
    driver.delete_profile("wlan0", "Plant-Floor")
    driver.connect("wlan0", b"Guest", None)
    driver.restore(snapshot)
    assert _profiles(driver) == before  # Guest's profile gone, Plant-Floor back
    assert _connected_ssid(driver) == "Plant-Floor"
    driver.connect("wlan0", b"Guest", None)
    assert driver.connect("wlan0", b"Plant-Floor", None) == "Plant-Floor"  # with its passphrase restored
    driver.restore(snapshot)  # again: still fine
    driver.release(snapshot)
    assert "conveyor-42" not in caplog.text and "s3cret!" not in caplog.text


def test_errors_when_networkmanager_goes_away(driver, fake_nm):
    fake_nm.nm.kill()
    fake_nm.nm.wait()
    with pytest.raises(DriverError) as raised:
        driver.scan("wlan0")
    assert not isinstance(raised.value, NotFound)
    assert not driver.probe()


# --- against the real NetworkManager: profiles only (it has no Wi-Fi device here) ---------------

def test_real_networkmanager_profiles_round_trip_a_snapshot(lab):  # noqa: F811 (the imported fixture)
    driver = NmWifiDriver(lab.ctx(), wifi.Settings(bus_address=lab.address))
    settings = {"connection": {"id": ("s", OFFICE), "type": ("s", "802-11-wireless")},
                "802-11-wireless": {"ssid": ("ay", CAFE)},
                "802-11-wireless-security": {"key-mgmt": ("s", "wpa-psk"), "psk": ("s", "conveyor-42")}}
    with nm_dbus.session(lab.address, 5, 10) as bus:
        (kept,) = bus.call(nm_dbus.SETTINGS_PATH, nm_dbus.SETTINGS, "AddConnection", "a{sa{sv}}", settings)
        uuid = nm_dbus.plain(bus.settings(kept))["connection"]["uuid"]
    snapshot = driver.snapshot(30)
    with nm_dbus.session(lab.address, 5, 10) as bus:
        bus.call(kept, nm_dbus.CONNECTION, "Delete")
        settings["connection"]["id"] = ("s", "made in the window")
        bus.call(nm_dbus.SETTINGS_PATH, nm_dbus.SETTINGS, "AddConnection", "a{sa{sv}}", settings)
    driver.restore(snapshot)
    with nm_dbus.session(lab.address, 5, 10) as bus:
        found = {nm_dbus.plain(s)["connection"]["id"]: p for p, s in bus.connections().items()
                 if nm_dbus.plain(s)["connection"]["type"] == "802-11-wireless"}  # not NM's own "lo"
        assert list(found) == [OFFICE]
        restored = nm_dbus.plain(bus.settings(found[OFFICE]))
        (secrets,) = bus.call(found[OFFICE], nm_dbus.CONNECTION, "GetSecrets", "s", "802-11-wireless-security")
    assert restored["connection"]["uuid"] == uuid and restored["802-11-wireless"]["ssid"] == CAFE
    assert nm_dbus.plain(secrets)["802-11-wireless-security"]["psk"] == "conveyor-42"
    assert [p.name for p in Path(lab.keyfiles).iterdir()] == [f"{OFFICE}.nmconnection"]


# --- the whole daemon on the fake NetworkManager ------------------------------------------------

def test_api_on_networkmanager_rolls_back_an_unconfirmed_join_and_delete(fake_nm, make_app, tmp_path):
    plugins = {"linux": {name: {"bus_address": fake_nm.address} for name in ("wifi", "services")}}
    plugins["linux"]["networking"] = {"bus_address": fake_nm.address, "networkmanager": "always"}
    client = make_app(board="auto", changes={"confirm_timeout_seconds": 2}, plugins=plugins).test_client()
    headers = bearer(admin_token(client))
    base = "/platform/api/networking/wifi"
    adapters = client.get(f"{base}/interfaces", headers=headers).get_json()
    assert [a["uuid"] for a in adapters] == ["wlan0", "wlan1"]
    scan = client.get(f"{base}/networks/wlan0", headers=headers).get_json()
    assert len(scan) == 9 and {n["ssidHex"] for n in scan} >= {CAFE.hex(), ""}
    response = client.delete(f"{base}/interface/wlan0/profile/{quote(OFFICE, safe='')}", headers=headers)
    assert response.status_code == 200, response.get_json()
    response = client.post(f"{base}/interface/wlan0/connect", json={"ssidHex": CAFE.hex(),
                                                                     "passphrase": 'nord;"halle"\n1'}, headers=headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["profileName"] == 'Caf\ufffd "Bar"; rm -rf /\n'

    def names():
        return sorted(p["name"] for p in client.get(f"{base}/interfaces", headers=headers).get_json()[0]["profiles"])

    assert names() == ["Caf\ufffd \"Bar\"; rm -rf /\n", "Corp-Secure", "Plant-Floor"]
    gevent.sleep(3)  # unconfirmed: the snapshot comes back
    assert names() == ["Corp-Secure", OFFICE, "Plant-Floor"]
    response = client.delete(f"{base}/interface/wlan0/profile/no-such-profile", headers=headers)
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"WiFi"}
