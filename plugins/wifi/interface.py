"""The ``wifi`` driver interface: Wi-Fi adapters, their saved profiles, scans, and joining a network.

``uuid`` is the adapter's interface name on Linux, as for ``networking``. SSIDs and profile names are
data, never shell or config syntax: any characters, quotes, ``;`` and newlines included; a driver
hands them to the OS as values (D-Bus strings and byte arrays), never through a command line or a
file it formats. An SSID that is not valid UTF-8 is shown with U+FFFD in place of the bad bytes and
carries ``ssidHex`` (an addition), which ``connect`` accepts.
"""
from __future__ import annotations

from typing import Protocol, TypedDict

from portald.drivers import Driver


class WifiProfile(TypedDict):
    name: str
    allUserProfile: bool  # usable by every user (NetworkManager: no permissions set)
    groupPolicyProfile: bool  # pushed by a management policy (Windows only; always False on Linux)
    perUserProfile: bool  # restricted to some users


class WifiInterface(TypedDict):
    ifIndex: int
    uuid: str
    description: str
    profiles: list[WifiProfile]


class WifiNetwork(TypedDict, total=False):
    ssid: str
    ssidHex: str  # addition: the SSID's bytes in hex, always present
    bssid: str  # "AA:BB:CC:DD:EE:FF"
    channel: int
    signalQuality: int  # 0..100
    signalStrength: int  # dBm
    authenticationAlgorithm: str  # "Open", "WEP", "WPA-Personal", "WPA2-Personal", "WPA3-Personal",
    #                               "WPA-Enterprise", "WPA2-Enterprise", "WPA3-Enterprise", "OWE"
    cipherAlgorithm: str  # "None", "WEP", "TKIP", "AES", "TKIP+AES"
    securityEnabled: bool
    connectable: bool  # the driver can join it (False for enterprise networks without a profile)
    alreadyConnected: bool
    profileAvailable: bool
    profileName: str  # "" when none
    infrastructureType: str  # "Infrastructure" or "Ad hoc"
    physicalTypes: list[str]  # e.g. ["802.11n"]


class WifiDriver(Driver, Protocol):
    """Wi-Fi adapters and profiles (``/platform/api/networking/wifi/*``).

    Errors: ``portald.drivers.NotFound`` for an unknown adapter or profile; ``DriverError``/``OSError``
    with a message for the client for anything refused or failed (422 ``{"errors": {"WiFi": ...}}``).
    Writes are wrapped in the change window exactly as for ``networking``: ``snapshot`` before,
    ``restore`` on timeout or failure, ``release`` on confirmation.
    """

    def interfaces(self) -> list[WifiInterface]:
        """Every Wi-Fi adapter with its saved profiles."""
        ...

    def scan(self, uuid: str) -> list[WifiNetwork]:
        """The networks the adapter sees now, one entry per BSS (access point), strongest first; asks
        for a fresh scan and waits for it, bounded (falls back to the last results)."""
        ...

    def delete_profile(self, uuid: str, name: str) -> None:
        """Delete the saved profile ``name`` of the adapter (``NotFound`` when there is none)."""
        ...

    def connect(self, uuid: str, ssid: bytes, passphrase: str | None) -> str:
        """Join the network (WPA/WPA2/WPA3-Personal with ``passphrase``, or open without), creating or
        updating a saved profile; returns the profile's name once the adapter is connected, or raises
        ``DriverError`` (wrong passphrase, out of range) with the profile removed again."""
        ...

    def snapshot(self, timeout_seconds: float) -> dict:
        ...

    def restore(self, snapshot: dict) -> None:
        ...

    def release(self, snapshot: dict) -> None:
        ...
