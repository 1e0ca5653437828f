"""The sim board's network: three adapters (``eth0`` on DHCP, ``eth1`` static on a machine network,
``wlan0`` joined through the sim Wi-Fi), whose configuration is kept in the state dir
(``networking.json``) and survives a restart, with counters that grow while the daemon runs.

It behaves like a small real network: an adapter on DHCP gets a lease from the sim DHCP server of its
segment (``eth0``: 192.168.10.0/24, gateway .1; ``wlan0``: 192.168.50.0/24, gateway .1), a static one
has exactly what was set, the default route goes through the adapter with the lowest IPv4 metric that
has a gateway, and ``wlan0`` is connected only while the sim Wi-Fi (``wifi.json``) has an active
profile. ``snapshot``/``restore`` copy the configuration; no driver-side timer.
"""
from __future__ import annotations

import copy
import ipaddress
import logging
import time
import zlib

from portald.drivers import NotFound
from portald.net_types import TYPE_IDS

from . import saved

log = logging.getLogger(__name__)

FILE = "networking.json"
WIFI_FILE = "wifi.json"

# name -> fixed facts: index, MAC, type, speed (Mbit/s), the DHCP segment it sits on
ADAPTERS = {
    "eth0": {"ifIndex": 2, "mac": "00:0b:ab:5e:00:02", "type": "Ethernet", "speed": 1000,
             "description": "Intel Corporation Ethernet Connection I219-LM (sim)",
             "segment": "192.168.10.0/24", "ipv6": "fe80::20b:abff:fe5e:2/64"},
    "eth1": {"ifIndex": 3, "mac": "00:0b:ab:5e:00:03", "type": "Ethernet", "speed": 100,
             "description": "Intel Corporation I210 Gigabit Network Connection (sim)",
             "segment": "10.20.0.0/24", "ipv6": "fe80::20b:abff:fe5e:3/64"},
    "wlan0": {"ifIndex": 4, "mac": "00:0b:ab:5e:00:04", "type": "Wi-Fi", "speed": 144,
              "description": "Intel Corporation Wi-Fi 6 AX200 (sim)",
              "segment": "192.168.50.0/24", "ipv6": "fe80::20b:abff:fe5e:4/64"},
}
DEFAULT_CONFIG = {
    "eth0": {"dhcp": True, "static": None, "ipv4Metric": 100, "ipv6Metric": 100},
    "eth1": {"dhcp": False, "ipv4Metric": 200, "ipv6Metric": 200,
             "static": {"ipAddress": "10.20.0.5", "subnetMask": "255.255.255.0", "defaultGateway": "",
                        "primaryDNS": "", "secondaryDNS": None}},
    "wlan0": {"dhcp": True, "static": None, "ipv4Metric": 600, "ipv6Metric": 600},
}
SEGMENT_DNS = ["192.168.10.1"]


def _speed_text(mbits: int) -> str:
    return f"{mbits / 1000:g} Gbps" if mbits >= 1000 else f"{mbits} Mbps"


def _lease(name: str) -> str:
    """The address the sim DHCP server hands this adapter: stable, derived from its MAC."""
    network = ipaddress.IPv4Network(ADAPTERS[name]["segment"])
    host = 100 + zlib.crc32(ADAPTERS[name]["mac"].encode()) % 100
    return f"{network.network_address + host}/{network.prefixlen}"


def _well_formed(config) -> bool:
    return isinstance(config, dict) and set(config) == set(ADAPTERS) and all(
        isinstance(c, dict) and isinstance(c.get("dhcp"), bool) and type(c.get("ipv4Metric")) is int
        and type(c.get("ipv6Metric")) is int and (c["dhcp"] or isinstance(c.get("static"), dict))
        for c in config.values())


class SimNetworkingDriver:
    name = "sim.networking"

    def __init__(self, state):
        self._state = state
        self._started = time.monotonic()
        self._config = self._load()

    def probe(self) -> bool:
        return True

    def _load(self) -> dict:
        return saved.load(self._state, FILE, "networking", DEFAULT_CONFIG, _well_formed)

    def _save(self) -> None:
        self._state.write_json(FILE, self._config)

    def _wifi_connected(self) -> bool:
        try:
            return bool((self._state.read_json(WIFI_FILE) or {}).get("active"))
        except (ValueError, OSError, AttributeError):
            return True

    def _name_of(self, if_index: int) -> str:
        for name, facts in ADAPTERS.items():
            if facts["ifIndex"] == if_index:
                return name
        raise NotFound(f"no network adapter has ifIndex {if_index}")

    def _ipv4(self, name: str) -> tuple[str | None, str, list[str]]:
        """(address/prefix or None, gateway or "", DNS) as configured."""
        config = self._config[name]
        if config["dhcp"]:
            gateway = str(ipaddress.IPv4Network(ADAPTERS[name]["segment"]).network_address + 1)
            return _lease(name), gateway, [gateway]
        static = config["static"]
        prefix = ipaddress.IPv4Network(f"0.0.0.0/{static['subnetMask']}").prefixlen
        dns = [d for d in (static["primaryDNS"], static["secondaryDNS"]) if d]
        return f"{static['ipAddress']}/{prefix}", static["defaultGateway"], dns

    def interfaces(self) -> list[dict]:
        elapsed = time.monotonic() - self._started
        rows = []
        for name, facts in ADAPTERS.items():
            connected = self._wifi_connected() if facts["type"] == "Wi-Fi" else True
            address, gateway, dns = self._ipv4(name) if connected else (None, "", [])
            config = self._config[name]
            rate = facts["speed"] * 125  # bytes a second at 1 % of the line rate
            sent, recv = int(50_000_000 + elapsed * rate), int(400_000_000 + elapsed * rate * 3)
            rows.append({
                "ifIndex": facts["ifIndex"], "uuid": name, "name": name, "description": facts["description"],
                "type": facts["type"], "typeId": TYPE_IDS[facts["type"]], "mtu": 1500, "connected": connected,
                "isDefault": False, "dhcpEnabled": config["dhcp"], "hardwareAddress": facts["mac"],
                **({"speed": _speed_text(facts["speed"]), "sendSpeed": facts["speed"] * 1_000_000,
                    "recvSpeed": facts["speed"] * 1_000_000} if connected else {}),
                "addresses": ([address] if address else []) + [facts["ipv6"]],
                "gateway": [gateway] if gateway else [], "dns": dns, "dnssuffix": "plant.local" if config["dhcp"] else "",
                "ipv4Metric": config["ipv4Metric"], "ipv6Metric": config["ipv6Metric"],
                "iocounters": {"ifindex": facts["ifIndex"], "bytesSent": sent, "bytesRecv": recv,
                               "packetsSent": sent // 800, "packetsRecv": recv // 900, "errin": 0, "errout": 0,
                               "dropin": int(elapsed // 600), "dropout": 0, "fifoin": 0, "fifoout": 0},
            })
        routed = [row for row in rows if row["gateway"]]
        if routed:
            min(routed, key=lambda row: (row["ipv4Metric"], row["ifIndex"]))["isDefault"] = True
        return rows

    def set_static_ipv4(self, if_index: int, config: dict) -> None:
        name = self._name_of(if_index)
        self._config[name] = {**self._config[name], "dhcp": False, "static": dict(config)}
        self._save()
        log.info("sim %s: static %s/%s", name, config["ipAddress"], config["subnetMask"])

    def set_dhcp(self, if_index: int) -> None:
        name = self._name_of(if_index)
        self._config[name] = {**self._config[name], "dhcp": True, "static": None}
        self._save()

    def set_route_metrics(self, metrics: dict[str, int], ipv6: bool) -> None:
        key = "ipv6Metric" if ipv6 else "ipv4Metric"
        for uuid in metrics:
            if uuid not in ADAPTERS:
                raise NotFound(f"no network adapter has uuid {uuid!r}")
        for uuid, metric in metrics.items():
            self._config[uuid][key] = metric
        self._save()

    def snapshot(self, timeout_seconds: float) -> dict:
        return {"config": copy.deepcopy(self._config)}

    def restore(self, snapshot: dict) -> None:
        self._config = copy.deepcopy(snapshot["config"])
        self._save()

    def release(self, snapshot: dict) -> None:
        pass


CAPABILITY = "networking"


def create_driver(ctx, settings=None):
    return SimNetworkingDriver(ctx.state)
