"""The ``networking`` driver interface: the machine's network adapters, their IPv4 configuration and
route order, and the snapshot a change is rolled back to.

Linux drivers use the interface name as ``uuid`` (the spec's Linux example does: ``"uuid":
"enp0s31f6"``); NetworkManager's connection uuid is not stable across a static/DHCP switch made by
another tool, a name is what an operator recognises, and ``sortedGUIDList`` then reads naturally.

``typeId`` is the IANA ifType number (RFC 2863 ``ifType``, the numbers the spec's examples use):

========================  ======  ==========================================
``type``                  typeId  Linux source
========================  ======  ==========================================
``Ethernet``              6       ARPHRD_ETHER (1), no ``wireless`` in sysfs
``Wi-Fi``                 71      ARPHRD_ETHER with ``/sys/class/net/X/wireless`` or ``phy80211``
``Loopback``              24      ARPHRD_LOOPBACK (772)
``PPP``                   23      ARPHRD_PPP (512)
``Tunnel``                131     ARPHRD_TUNNEL/TUNNEL6/SIT/IPGRE (768, 769, 776, 778), WireGuard (65534)
``Bridge``                209     ARPHRD_ETHER with ``/sys/class/net/X/bridge``
``Other``                 1       anything else
========================  ======  ==========================================

``portald.net_types.TYPE_IDS`` is that table (in the core, so every board's driver uses the same one).
"""
from __future__ import annotations

from typing import Protocol, TypedDict

from portald.drivers import Driver
from portald.net_types import TYPE_IDS  # noqa: F401  (the table the comments below refer to)


class IoCounters(TypedDict):
    ifindex: int
    bytesSent: int
    bytesRecv: int
    packetsSent: int
    packetsRecv: int
    errin: int
    errout: int
    dropin: int
    dropout: int
    fifoin: int
    fifoout: int


class Interface(TypedDict, total=False):
    """One adapter, in the spec's field names. Always present: ``ifIndex, uuid, name, description,
    type, typeId, mtu, connected, isDefault, dhcpEnabled, hardwareAddress, addresses, gateway, dns,
    iocounters``. ``speed`` (text such as ``"1 Gbps"``), ``sendSpeed``/``recvSpeed`` (bits per second)
    only when the link speed is known; ``dnssuffix``, ``ipv4Metric``, ``ipv6Metric`` only when known."""
    ifIndex: int  # the kernel's interface index
    uuid: str  # stable id used by the other endpoints (the interface name on Linux)
    name: str
    description: str  # the adapter's model when known (PCI/USB ids), else ""
    type: str  # a key of TYPE_IDS
    typeId: int  # TYPE_IDS[type]
    mtu: int
    connected: bool  # carrier up (operstate "up")
    isDefault: bool  # the IPv4 default route with the lowest metric goes through it
    dhcpEnabled: bool  # its IPv4 address comes from DHCP
    hardwareAddress: str  # "aa:bb:cc:dd:ee:ff" (lower case), "" when it has none
    speed: str
    sendSpeed: int
    recvSpeed: int
    addresses: list[str]  # CIDR, IPv4 first, then IPv6
    gateway: list[str]  # default-route gateways through this adapter
    dns: list[str]
    dnssuffix: str
    ipv4Metric: int
    ipv6Metric: int
    iocounters: IoCounters


class Ipv4Config(TypedDict):
    ipAddress: str  # dotted quad
    subnetMask: str  # dotted quad, contiguous
    defaultGateway: str  # dotted quad inside the subnet, or "" for none
    primaryDNS: str  # dotted quad, or "" for none
    secondaryDNS: str | None


class NetworkingDriver(Driver, Protocol):
    """Reads and changes the network configuration (``/platform/api/networking/*``).

    The plugin validates every request before calling a write method (addresses well-formed, gateway
    inside the subnet, the interface exists), and wraps each write in the change window: it calls
    ``snapshot()`` before the first change, ``restore()`` when the window runs out or the change fails,
    ``release()`` when the client confirms. Changes must persist across a reboot (the OS's own config:
    a NetworkManager profile, an ifupdown or systemd-networkd file) — and so must a restore.

    Errors: ``portald.drivers.NotFound`` for an ifIndex or uuid that no longer exists; ``OSError`` or
    ``portald.drivers.DriverError`` for anything refused or failed, with a message for the client
    (422 ``{"errors": {"Net": ...}}``, 400 ``{"errors": {"networking": ...}}`` for route order).
    """

    def interfaces(self) -> list[Interface]:
        """Every adapter the OS has now (adapters come and go: USB), loopback excluded, any order."""
        ...

    def set_static_ipv4(self, if_index: int, config: Ipv4Config) -> None:
        """Replace the adapter's IPv4 configuration with this static one (address, prefix, default
        gateway, DNS servers), persistently; returns once it is applied."""
        ...

    def set_dhcp(self, if_index: int) -> None:
        """Switch the adapter's IPv4 configuration to DHCP, persistently (the lease may come later)."""
        ...

    def set_route_metrics(self, metrics: dict[str, int], ipv6: bool) -> None:
        """Give each adapter (by uuid) the route metric for the family (IPv4, or IPv6 when ``ipv6``);
        its default routes take it at once and keep it across reboots. Adapters not named keep theirs."""
        ...

    def snapshot(self, timeout_seconds: float) -> dict:
        """The current configuration, as JSON-serialisable data the daemon stores until the change
        is confirmed (it must survive a daemon restart). ``timeout_seconds`` is the window: a driver
        with its own rollback (NetworkManager's checkpoints) arms it for a little longer, so the
        rollback happens even when the daemon is dead."""
        ...

    def restore(self, snapshot: dict) -> None:
        """Bring the configuration back to ``snapshot`` (live and persistent). Must work when called
        again, and after a restart of the daemon."""
        ...

    def release(self, snapshot: dict) -> None:
        """The change was confirmed: forget ``snapshot`` (and disarm a driver-side rollback)."""
        ...

    def extend(self, snapshot: dict, timeout_seconds: float) -> None:
        """Optional: a further change joined the window, which now ends ``timeout_seconds`` from now
        (a driver with its own rollback timer moves it)."""
        ...

    __optional__ = ("extend",)
