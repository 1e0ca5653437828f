"""The sim board's Wi-Fi: adapter ``wlan0`` in a plant with six access points of different security
(open, WPA2-Personal, WPA3-Personal, WPA2-Enterprise, WEP, and one whose SSID is not UTF-8), saved
profiles and the active one kept in the state dir (``wifi.json``), surviving a restart.

Joining checks the passphrase against the access point's like a real handshake would: a wrong one
fails and leaves no profile behind; an enterprise network is not connectable without a profile. Signal
levels wander a little between scans. ``snapshot``/``restore`` copy the profiles and the active one.
"""
from __future__ import annotations

import copy
import logging
import random

from portald.drivers import DriverError, NotFound

from . import saved

log = logging.getLogger(__name__)

FILE = "wifi.json"
ADAPTER = {"ifIndex": 4, "uuid": "wlan0", "description": "Intel Corporation Wi-Fi 6 AX200 (sim)"}

# ssid bytes -> access point: bssid, channel, dBm, auth, cipher, passphrase (None: open), standard
ACCESS_POINTS = {
    b"Plant-Floor": ("E0:3F:49:00:04:30", 6, -48, "WPA2-Personal", "AES", "conveyor-42", "802.11n"),
    b"Plant-Floor-5G": ("E0:3F:49:00:04:34", 36, -61, "WPA3-Personal", "AES", "conveyor-42", "802.11ac"),
    b"Guest": ("A4:2B:B0:11:22:33", 11, -70, "Open", "None", None, "802.11n"),
    b"Corp-Secure": ("00:1A:1E:AA:BB:CC", 1, -66, "WPA2-Enterprise", "AES", None, "802.11ax"),
    b"Legacy-PLC": ("00:0F:66:01:02:03", 3, -80, "WEP", "WEP", None, "802.11g"),
    b"Halle\xe4-Nord": ("00:0F:66:09:08:07", 13, -84, "WPA2-Personal", "TKIP+AES", "nordhalle-1", "802.11n"),
}
FIRST_BOOT = {"profiles": {"Plant-Floor": {"ssid": "Plant-Floor", "passphrase": "conveyor-42"}},
              "active": "Plant-Floor"}


def _quality(dbm: int) -> int:
    """Signal quality 0..100 from dBm, the usual linear map (-100 dBm: 0, -50 dBm and up: 100)."""
    return max(0, min(100, 2 * (dbm + 100)))


class SimWifiDriver:
    name = "sim.wifi"

    def __init__(self, state):
        self._state = state
        self._data = self._load()

    def probe(self) -> bool:
        return True

    def _load(self) -> dict:
        data = saved.load(self._state, FILE, "Wi-Fi", FIRST_BOOT, _well_formed)
        self._state.write_json(FILE, data, secret=True)  # holds passphrases: 0600 from the first boot
        return data

    def _save(self) -> None:
        self._state.write_json(FILE, self._data, secret=True)  # holds passphrases

    def _check(self, uuid: str) -> None:
        if uuid != ADAPTER["uuid"]:
            raise NotFound(f"no Wi-Fi adapter has uuid {uuid!r}")

    def interfaces(self) -> list[dict]:
        profiles = [{"name": name, "allUserProfile": True, "groupPolicyProfile": False, "perUserProfile": False}
                    for name in sorted(self._data["profiles"])]
        return [{**ADAPTER, "profiles": profiles}]

    def _profile_for(self, ssid: bytes) -> str:
        for name in sorted(self._data["profiles"]):
            if self._ssid_of(name) == ssid:
                return name
        return ""

    def scan(self, uuid: str) -> list[dict]:
        self._check(uuid)
        active = self._data.get("active")
        active_ssid = self._ssid_of(active) if active else None
        found = []
        for ssid, (bssid, channel, dbm, auth, cipher, _passphrase, phy) in ACCESS_POINTS.items():
            dbm += random.randint(-3, 3)
            profile = self._profile_for(ssid)
            found.append({
                "ssid": ssid.decode("utf-8", "replace"), "ssidHex": ssid.hex(), "bssid": bssid,
                "channel": channel, "signalQuality": _quality(dbm), "signalStrength": dbm,
                "authenticationAlgorithm": auth, "cipherAlgorithm": cipher, "securityEnabled": auth != "Open",
                "connectable": auth in ("Open", "WPA2-Personal", "WPA3-Personal") or bool(profile),
                "alreadyConnected": ssid == active_ssid, "profileAvailable": bool(profile),
                "profileName": profile, "infrastructureType": "Infrastructure", "physicalTypes": [phy],
            })
        return sorted(found, key=lambda ap: -ap["signalStrength"])

    def _ssid_of(self, profile_name: str) -> bytes | None:
        profile = self._data["profiles"].get(profile_name)
        if profile is None:
            return None
        return bytes.fromhex(profile["ssidHex"]) if "ssidHex" in profile else profile["ssid"].encode()

    def delete_profile(self, uuid: str, name: str) -> None:
        self._check(uuid)
        if name not in self._data["profiles"]:
            raise NotFound(f"{uuid} has no profile {name!r}")
        del self._data["profiles"][name]
        if self._data.get("active") == name:
            self._data["active"] = None
        self._save()

    def connect(self, uuid: str, ssid: bytes, passphrase: str | None) -> str:
        self._check(uuid)
        ap = ACCESS_POINTS.get(ssid)
        if ap is None:
            raise DriverError("no access point of that SSID is in range")
        auth, expected = ap[3], ap[5]
        if auth not in ("Open", "WPA2-Personal", "WPA3-Personal"):
            raise DriverError(f"{auth} networks need a profile made by an administrator of the network")
        if auth == "Open" and passphrase:
            raise DriverError("the network is open: no passphrase is used")
        if auth != "Open" and passphrase != expected:
            raise DriverError("authentication failed: wrong passphrase (secrets were required)")
        name = self._profile_for(ssid) or self._new_name(ssid.decode("utf-8", "replace"))
        entry = {"ssid": ssid.decode()} if _is_utf8(ssid) else {"ssidHex": ssid.hex()}
        self._data["profiles"][name] = {**entry, "passphrase": passphrase}
        self._data["active"] = name
        self._save()
        return name

    def _new_name(self, base: str) -> str:
        name, n = base, 1
        while name in self._data["profiles"]:
            name, n = f"{base} {n}", n + 1
        return name

    def snapshot(self, timeout_seconds: float) -> dict:
        return {"wifi": copy.deepcopy(self._data)}

    def restore(self, snapshot: dict) -> None:
        self._data = copy.deepcopy(snapshot["wifi"])
        self._save()

    def release(self, snapshot: dict) -> None:
        pass


def _well_formed(data) -> bool:
    return isinstance(data, dict) and isinstance(data.get("profiles"), dict) and all(
        isinstance(p, dict) and ("ssid" in p or "ssidHex" in p) for p in data["profiles"].values()) and (
        data.get("active") is None or data.get("active") in data["profiles"])


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


CAPABILITY = "wifi"


def create_driver(ctx, settings=None):
    return SimWifiDriver(ctx.state)
