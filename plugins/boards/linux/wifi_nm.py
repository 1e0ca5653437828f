"""The ``wifi`` driver over NetworkManager: Wi-Fi devices, their saved ``802-11-wireless`` profiles,
scans, deleting a profile, joining a network, and the snapshot a change window rolls back to. No Flask
here; D-Bus calls go through ``nm_dbus``.

Scans: ``Device.Wireless.RequestScan`` and a bounded wait for ``LastScan`` to move; when NM refuses
the request (it does right after another scan, or while the adapter is unavailable) the last results
are answered. Access points come from ``GetAllAccessPoints`` (hidden networks included, with an
empty SSID). Their fields:

* ``Flags``/``WpaFlags``/``RsnFlags`` → ``authenticationAlgorithm``/``cipherAlgorithm``
  (``security_of``): SAE alone is WPA3-Personal, PSK (also with SAE: transition mode, which WPA2
  clients join) WPA2-Personal, 802.1X WPA2-Enterprise (Suite-B 192: WPA3-Enterprise), OWE ``OWE``,
  privacy without WPA/RSN ``WEP``;
* ``Strength`` (0..100) → ``signalQuality``; ``signalStrength`` (dBm) is estimated by inverting
  NetworkManager's own dBm → quality map (-100..-40 dBm onto 0..100, linear): ``0.6 * q - 100``;
* ``Frequency`` (MHz) → ``channel`` (2.4, 5 and 6 GHz bands); ``Mode`` → ``infrastructureType``;
* ``physicalTypes``: NM 1.42 does not publish the standard, so it is a best guess from the band and
  ``MaxBitrate`` (above 600 Mb/s: 802.11ac on 5 GHz, 802.11ax on 2.4; 6 GHz is always 802.11ax);
* ``alreadyConnected``: the device's ``ActiveAccessPoint``; ``profileAvailable``/``profileName``: a
  saved profile with the same SSID bytes; ``connectable``: open, OWE and personal networks, and
  any network with a saved profile (enterprise and WEP networks need one).

Joining (``connect``): a saved profile with that SSID gets the new passphrase (``Update``) and is
activated, else ``AddAndActivateConnection`` creates one (SSID as ``ay``, ``key-mgmt`` ``wpa-psk``,
or ``sae`` for a WPA3-only network). The driver waits, bounded, for the active connection to be
activated; on failure the new profile is deleted again (an updated one gets its old settings back).

The snapshot is every saved Wi-Fi profile with its secrets (``GetSecrets``: the daemon stores the
snapshot 0600 and nothing here logs it) and each device's active profile; ``restore`` deletes the
profiles made since, puts back the deleted or changed ones and reactivates what was active.
SSIDs and profile names only ever travel as D-Bus values.
"""
from __future__ import annotations

import logging

from portald.drivers import DriverError, NotFound

from . import nm_dbus
from .net_nm import if_index_of
from .nm_dbus import (ACTIVE, ACTIVE_ACTIVATED, ACTIVE_DEACTIVATED, CONNECTION, DEVICE, NM,
                      NM_PATH, SETTINGS, SETTINGS_PATH, WIRELESS, NmError, NmGone, pack_settings, plain,
                      unpack_settings)

log = logging.getLogger("portald.plugins.wifi")

TYPE_WIFI = 2
WIRELESS_SETTING = "802-11-wireless"
SECURITY_SETTING = "802-11-wireless-security"
SECRET_SETTINGS = (SECURITY_SETTING, "802-1x")
CALL_TIMEOUT = 5.0

# NM80211ApFlags / NM80211ApSecurityFlags
AP_PRIVACY = 0x1
PAIR_WEP40, PAIR_WEP104, PAIR_TKIP, PAIR_CCMP = 0x1, 0x2, 0x4, 0x8
KEY_PSK, KEY_8021X, KEY_SAE, KEY_OWE, KEY_OWE_TM, KEY_SUITE_B = 0x100, 0x200, 0x400, 0x800, 0x1000, 0x2000
MODES = {1: "Ad hoc"}  # NM80211Mode: 2 infrastructure (3 AP, 4 mesh: also not ad hoc)

# NMDeviceStateReason of a failed join → what the client is told
FAILURE_REASONS = {7: "the passphrase was not accepted (no valid secrets)",
                   8: "the access point refused the passphrase or disconnected",
                   9: "the access point refused the connection", 11: "the access point did not answer in time",
                   53: "the network is out of range"}


# key management → authenticationAlgorithm, first match wins: (from RsnFlags?, flag, name)
AUTH_BY_KEY_MGMT = ((True, KEY_OWE | KEY_OWE_TM, "OWE"), (True, KEY_SUITE_B, "WPA3-Enterprise"),
                    (True, KEY_8021X, "WPA2-Enterprise"), (True, KEY_PSK, "WPA2-Personal"),
                    (True, KEY_SAE, "WPA3-Personal"), (False, KEY_8021X, "WPA-Enterprise"),
                    (False, KEY_PSK, "WPA-Personal"))


def security_of(flags: int, wpa: int, rsn: int) -> tuple[str, str]:
    """(authenticationAlgorithm, cipherAlgorithm) of an access point's NM flags."""
    auth = next((name for from_rsn, flag, name in AUTH_BY_KEY_MGMT if (rsn if from_rsn else wpa) & flag), None)
    if auth is None:
        return ("WEP", "WEP") if flags & AP_PRIVACY else ("Open", "None")
    pairwise = wpa | rsn
    if pairwise & PAIR_CCMP and pairwise & PAIR_TKIP:
        return auth, "TKIP+AES"
    return auth, "TKIP" if pairwise & PAIR_TKIP else "AES"  # AES: CCMP, or RSN without pairwise flags (OWE)


def channel_of(mhz: int) -> int:
    if mhz == 2484:
        return 14
    if 2412 <= mhz < 2484:
        return (mhz - 2407) // 5
    if 5955 <= mhz <= 7115:
        return (mhz - 5950) // 5
    if 5000 <= mhz < 5925:
        return (mhz - 5000) // 5
    return 0


def physical_types_of(mhz: int, max_kbps: int) -> list[str]:
    if mhz >= 5925:
        return ["802.11ax"]
    if mhz >= 5000:
        return ["802.11ac" if max_kbps > 600_000 else "802.11n" if max_kbps > 54_000 else "802.11a"]
    if max_kbps > 600_000:
        return ["802.11ax"]
    return ["802.11n" if max_kbps > 54_000 else "802.11g" if max_kbps > 11_000 else "802.11b"]


def dbm_of(quality: int) -> int:
    """The inverse of NetworkManager's quality = (dBm + 100) * 100 / 60 for -100..-40 dBm."""
    return round(0.6 * max(0, min(100, quality)) - 100)


def _ssid_text(ssid: bytes) -> str:
    return ssid.decode("utf-8", "replace")


class NmWifiDriver:
    """The ``wifi`` capability over NetworkManager. Config: ``wifi.Settings``."""

    name = "linux.wifi"

    def __init__(self, ctx, settings):
        self.ctx = ctx
        self.bus_address = settings.bus_address
        self.scan_timeout = settings.scan_timeout_seconds
        self.connect_timeout = settings.connect_timeout_seconds
        self.absent_reason = ""

    def probe(self) -> bool:
        """NetworkManager runs and has a Wi-Fi device (an adapter plugged in later needs a restart)."""
        if not nm_dbus.networkmanager_runs(self.bus_address):
            self.absent_reason = f"NetworkManager does not answer on {self.bus_address}"
            return False
        try:
            with self._session() as bus:
                found = bool(self._devices(bus))
        except DriverError as exc:
            self.absent_reason = f"NetworkManager's devices could not be read: {exc}"
            return False
        if not found:
            self.absent_reason = "NetworkManager has no Wi-Fi device"
        return found

    def _session(self, seconds: float = 3 * CALL_TIMEOUT):
        return nm_dbus.session(self.bus_address, CALL_TIMEOUT, seconds)

    def _devices(self, bus) -> dict[str, tuple[str, dict]]:
        return {props.get("Interface", ""): (path, props) for path, props in bus.devices().items()
                if props.get("DeviceType") == TYPE_WIFI}

    def _device(self, bus, uuid: str) -> tuple[str, dict]:
        found = self._devices(bus).get(uuid)
        if found is None:
            raise NotFound(f"no Wi-Fi adapter has uuid {uuid!r}")
        return found

    def _profiles(self, bus, name: str | None = None, dev: dict | None = None) -> dict[str, dict]:
        """Saved Wi-Fi profiles (path → plain settings), only those usable on device ``name`` if given:
        not bound to another interface name or MAC address."""
        found = {}
        for path, settings in bus.connections().items():
            settings = plain(settings)
            connection, wireless = settings.get("connection", {}), settings.get(WIRELESS_SETTING, {})
            if connection.get("type") != WIRELESS_SETTING:
                continue
            if name is not None:
                bound, mac = connection.get("interface-name") or "", bytes(wireless.get("mac-address") or b"")
                if bound and bound != name:
                    continue
                if mac and mac.hex(":") != (dev or {}).get("HwAddress", "").lower():
                    continue
            found[path] = settings
        return found

    # -- reading -------------------------------------------------------------------------------------
    def interfaces(self) -> list[dict]:
        with self._session() as bus:
            devices = self._devices(bus)
            return [{"ifIndex": if_index_of(self.ctx, dev), "uuid": name, "description": "",
                     "profiles": [_profile(s) for s in self._profiles(bus, name, dev).values()]}
                    for name, (_path, dev) in sorted(devices.items())]

    def scan(self, uuid: str) -> list[dict]:
        with self._session(self.scan_timeout + 4 * CALL_TIMEOUT) as bus:
            device, dev = self._device(bus, uuid)
            before = bus.get(device, WIRELESS, "LastScan")
            try:
                bus.call(device, WIRELESS, "RequestScan", "a{sv}", {})
            except NmGone:
                raise
            except NmError as exc:  # e.g. "Scanning not allowed immediately following previous scan"
                log.debug("wifi: %s: no fresh scan (%s); answering the last results", uuid, exc)
            else:
                if bus.wait(self.scan_timeout, lambda: bus.get(device, WIRELESS, "LastScan") != before or None) is None:
                    log.info("wifi: %s: scan not done after %g s; answering the last results", uuid,
                             self.scan_timeout)
            active_ap = bus.get(device, WIRELESS, "ActiveAccessPoint")
            profiles = {bytes(s[WIRELESS_SETTING].get("ssid") or b""): s["connection"].get("id", "")
                        for s in self._profiles(bus, uuid, dev).values()}
            networks = []
            for path, ap in bus.access_points(device).items():
                networks.append(_network(ap, path == active_ap, profiles))
        return sorted(networks, key=lambda n: -n["signalQuality"])

    # -- writing -------------------------------------------------------------------------------------
    def delete_profile(self, uuid: str, name: str) -> None:
        with self._session() as bus:
            device, dev = self._device(bus, uuid)
            paths = [p for p, s in self._profiles(bus, uuid, dev).items() if s["connection"].get("id") == name]
            if not paths:
                raise NotFound(f"{uuid} has no Wi-Fi profile {name!r}")
            for path in paths:
                try:
                    bus.call(path, CONNECTION, "Delete")
                except NmGone:
                    continue
        log.info("wifi: %s: deleted profile %r", uuid, name)

    def connect(self, uuid: str, ssid: bytes, passphrase: str | None) -> str:
        with self._session(self.connect_timeout + 10 * CALL_TIMEOUT) as bus:
            device, dev = self._device(bus, uuid)
            aps = bus.access_points(device)
            seen = sorted(((ap["Strength"], path, ap) for path, ap in aps.items() if bytes(ap["Ssid"]) == ssid),
                          reverse=True)
            saved = [(p, s) for p, s in self._profiles(bus, uuid, dev).items()
                     if bytes(s[WIRELESS_SETTING].get("ssid") or b"") == ssid]
            auth = security_of(seen[0][2]["Flags"], seen[0][2]["WpaFlags"], seen[0][2]["RsnFlags"])[0] if seen else ""
            if passphrase is None and auth not in ("", "Open", "OWE") and not saved:
                raise DriverError(f"{_ssid_text(ssid)!r} is secured ({auth}): a passphrase is needed")
            if passphrase is not None and auth in ("WEP", "WPA-Enterprise", "WPA2-Enterprise", "WPA3-Enterprise"):
                raise DriverError(f"{_ssid_text(ssid)!r} uses {auth}, which needs a saved profile to join")
            security = None
            if passphrase is not None:
                key_mgmt = "sae" if seen and seen[0][2]["RsnFlags"] & KEY_SAE and not \
                    (seen[0][2]["RsnFlags"] | seen[0][2]["WpaFlags"]) & KEY_PSK else "wpa-psk"
                security = {"key-mgmt": ("s", key_mgmt), "psk": ("s", passphrase)}
            if saved:
                path, old = saved[0]
                name = old["connection"].get("id", "")
                previous = self._with_secrets(bus, path, bus.settings(path))
                if security is not None:
                    settings = bus.settings(path)
                    settings[SECURITY_SETTING] = {**settings.get(SECURITY_SETTING, {}), **security}
                    bus.call(path, CONNECTION, "Update", "a{sa{sv}}", settings)
                (active,) = bus.call(NM_PATH, NM, "ActivateConnection", "ooo", path, device, "/")
            else:
                path, previous, name = None, None, _ssid_text(ssid)
                settings = {"connection": {"id": ("s", name), "type": ("s", WIRELESS_SETTING)},
                            WIRELESS_SETTING: {"ssid": ("ay", ssid), "mode": ("s", "infrastructure")}}
                if not seen:
                    settings[WIRELESS_SETTING]["hidden"] = ("b", True)
                if security is not None:
                    settings[SECURITY_SETTING] = security
                path, active = bus.call(NM_PATH, NM, "AddAndActivateConnection", "a{sa{sv}}oo", settings, device,
                                        seen[0][1] if seen else "/")
            state = bus.wait(self.connect_timeout, lambda: _final_state(bus, active))
            if state == ACTIVE_ACTIVATED:
                log.info("wifi: %s: joined %r with profile %r", uuid, _ssid_text(ssid), name)
                return name
            reason = self._failure(bus, device, state)
            if previous is None:
                try:
                    bus.call(path, CONNECTION, "Delete")
                except NmGone:
                    pass
            else:
                bus.call(path, CONNECTION, "Update", "a{sa{sv}}", previous)
        log.info("wifi: %s: could not join %r: %s", uuid, _ssid_text(ssid), reason)
        raise DriverError(f"could not join {_ssid_text(ssid)!r}: {reason}")

    def _failure(self, bus, device: str, state) -> str:
        if state is None:
            return f"not connected after {self.connect_timeout:g} s (out of range, or a wrong passphrase)"
        try:
            _state, reason = bus.get(device, DEVICE, "StateReason")
        except NmError:
            reason = 0
        return FAILURE_REASONS.get(reason, f"NetworkManager gave up (reason {reason})")

    def _with_secrets(self, bus, path: str, settings: dict) -> dict:
        """The settings with their secrets added (``GetSecrets``), where NM holds them."""
        for name in SECRET_SETTINGS:
            if name not in settings:
                continue
            try:
                (secrets,) = bus.call(path, CONNECTION, "GetSecrets", "s", name)
            except NmError:  # agent-owned or not saved: nothing to keep
                continue
            settings[name] = {**settings[name], **secrets.get(name, {})}
        return settings

    # -- the change window ---------------------------------------------------------------------------
    def snapshot(self, timeout_seconds: float) -> dict:
        with self._session(6 * CALL_TIMEOUT) as bus:
            profiles = {}
            for path in self._profiles(bus):
                settings = self._with_secrets(bus, path, bus.settings(path))
                profiles[plain(settings["connection"]["uuid"])] = pack_settings(settings)
            active = {}
            for name, (_path, dev) in self._devices(bus).items():
                active[name] = _active_uuid(bus, dev)
        return {"profiles": profiles, "active": active}

    def restore(self, snapshot: dict) -> None:
        with self._session(10 * CALL_TIMEOUT + 2 * len(snapshot["profiles"]) * CALL_TIMEOUT) as bus:
            current = {s["connection"]["uuid"]: p for p, s in self._profiles(bus).items()}
            for uuid, path in current.items():
                if uuid not in snapshot["profiles"]:
                    try:
                        bus.call(path, CONNECTION, "Delete")
                    except NmGone:
                        pass
            for uuid, packed in snapshot["profiles"].items():
                settings = unpack_settings(packed)
                if uuid in current:
                    bus.call(current[uuid], CONNECTION, "Update", "a{sa{sv}}", settings)
                else:
                    (current[uuid],) = bus.call(SETTINGS_PATH, SETTINGS, "AddConnection", "a{sa{sv}}", settings)
            for name, (device, dev) in self._devices(bus).items():
                wanted, now = snapshot["active"].get(name), _active_uuid(bus, dev)
                if wanted is None or wanted == now:
                    continue
                try:
                    if wanted:
                        bus.call(NM_PATH, NM, "ActivateConnection", "ooo", current[wanted], device, "/")
                    else:
                        bus.call(device, DEVICE, "Disconnect")
                except NmError as exc:  # the profiles are back; NM's autoconnect keeps trying
                    log.warning("wifi: %s: could not bring back the network it had: %s", name, exc)
        log.info("wifi: profiles and active networks restored from the snapshot")

    def release(self, snapshot: dict) -> None:
        """Nothing to disarm: the snapshot lives in the daemon's state only."""


def _active_uuid(bus, dev: dict) -> str:
    if dev.get("ActiveConnection", "/") == "/":
        return ""
    try:
        return bus.get(dev["ActiveConnection"], ACTIVE, "Uuid")
    except NmGone:
        return ""


def _final_state(bus, active: str):
    try:
        state = bus.get(active, ACTIVE, "State")
    except NmGone:  # NM drops a failed activation's object
        return ACTIVE_DEACTIVATED
    return state if state in (ACTIVE_ACTIVATED, ACTIVE_DEACTIVATED) else None


def _profile(settings: dict) -> dict:
    permissions = settings["connection"].get("permissions") or []
    return {"name": settings["connection"].get("id", ""), "allUserProfile": not permissions,
            "groupPolicyProfile": False, "perUserProfile": bool(permissions)}


def _network(ap: dict, active: bool, profiles: dict[bytes, str]) -> dict:
    ssid = bytes(ap.get("Ssid") or b"")
    auth, cipher = security_of(ap.get("Flags", 0), ap.get("WpaFlags", 0), ap.get("RsnFlags", 0))
    quality = int(ap.get("Strength", 0))
    profile = profiles.get(ssid) if ssid else None
    return {"ssid": _ssid_text(ssid), "ssidHex": ssid.hex(), "bssid": ap.get("HwAddress", "").upper(),
            "channel": channel_of(ap.get("Frequency", 0)), "signalQuality": quality,
            "signalStrength": dbm_of(quality), "authenticationAlgorithm": auth, "cipherAlgorithm": cipher,
            "securityEnabled": auth != "Open",
            "connectable": profile is not None or auth in ("Open", "OWE", "WPA-Personal", "WPA2-Personal",
                                                           "WPA3-Personal"),
            "alreadyConnected": active, "profileAvailable": profile is not None, "profileName": profile or "",
            "infrastructureType": MODES.get(ap.get("Mode"), "Infrastructure"),
            "physicalTypes": physical_types_of(ap.get("Frequency", 0), ap.get("MaxBitrate", 0))}
