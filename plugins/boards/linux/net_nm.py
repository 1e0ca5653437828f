"""The ``networking`` driver for machines where NetworkManager runs: adapters read from NM's devices,
changes written into NM's connection profiles (so they persist: NM saves them), rollback through
NM's checkpoints. No Flask here; D-Bus calls go through ``nm_dbus``.

Reading, per NM device (``GetDevices``; loopback left out):

* ``Interface``, ``Ifindex`` (sysfs ``ifindex`` when NM does not publish it, as 1.42 does not), ``HwAddress``, ``Mtu``,
  ``DeviceType`` → ``type`` (``DEVICE_TYPES``); ``connected`` is the carrier (sysfs ``operstate``, as
  the netlink driver has it; NM's ``State`` 100, activated, where the kernel says "unknown");
* ``Ip4Config``/``Ip6Config``: ``AddressData`` (IPv4 first), ``Gateway``, ``NameserverData`` /
  ``Nameservers``, ``Domains``/``Searches`` → ``dnssuffix``;
* the active connection: ``Default`` → ``isDefault``; its profile's ``ipv4.method`` ``auto`` →
  ``dhcpEnabled``, ``ipv4.route-metric``/``ipv6.route-metric`` (when -1, NM's default applies: the
  metric of the default route NM installed, when there is one);
* ``Speed`` (wired, Mb/s) or ``Bitrate`` (Wi-Fi, kb/s) → ``speed``/``sendSpeed``/``recvSpeed``;
* ``iocounters`` from sysfs ``statistics/`` (NM does not publish them all).

Writing: the device's profile (its active connection's, else the first available one, else a new
one named after the interface) is changed with ``Settings.Connection.Update`` (saved to disk) and
activated again with ``ActivateConnection`` — static changes wait until NM reports the connection
activated, a switch to DHCP does not wait for the lease. Route metrics go into
``ipv4.route-metric``/``ipv6.route-metric`` and are applied with ``Device.Reapply`` (no link
bounce), or a reactivation when NM refuses the reapply.

Rollback: ``snapshot`` creates an NM checkpoint of every device (``CheckpointCreate``, flag
``DELETE_NEW_CONNECTIONS`` so a profile created during the window goes too) whose own rollback timer
is the window plus ``checkpoint_margin_seconds``: when the daemon dies mid-window, NM still rolls
back, a little later. ``restore`` = ``CheckpointRollback``, ``release`` = ``CheckpointDestroy``,
``extend`` = ``CheckpointAdjustRollbackTimeout``; a checkpoint NM no longer has (rolled back by its
timer, or destroyed) counts as done.
"""
from __future__ import annotations

import ipaddress
import logging
import math
import socket
import struct

from portald.drivers import DriverError, NotFound
from portald.net_types import TYPE_IDS

from . import nm_dbus
from .nm_dbus import (ACTIVE, ACTIVE_ACTIVATED, ACTIVE_DEACTIVATED, CONNECTION, DEVICE, DEVICE_ACTIVATED,
                      IP4CONFIG, IP6CONFIG, NM, NM_PATH, SETTINGS, SETTINGS_PATH, WIRED, WIRELESS, NmError,
                      NmGone, plain)

log = logging.getLogger("portald.plugins.networking")

DEVICE_TYPES = {1: "Ethernet", 10: "Ethernet", 11: "Ethernet", 15: "Ethernet", 18: "Ethernet", 19: "Ethernet",
                20: "Ethernet", 2: "Wi-Fi", 13: "Bridge", 23: "PPP", 16: "Other", 17: "Tunnel", 29: "Tunnel",
                32: "Loopback"}
TYPE_WIFI = 2
TYPE_LOOPBACK = 32
CHECKPOINT_DELETE_NEW_CONNECTIONS = 0x02
COUNTERS = {"bytesSent": "tx_bytes", "bytesRecv": "rx_bytes", "packetsSent": "tx_packets",
            "packetsRecv": "rx_packets", "errin": "rx_errors", "errout": "tx_errors", "dropin": "rx_dropped",
            "dropout": "tx_dropped", "fifoin": "rx_fifo_errors", "fifoout": "tx_fifo_errors"}
CALL_TIMEOUT = 5.0


def networkmanager_runs(settings) -> bool:
    return nm_dbus.networkmanager_runs(settings.bus_address)


def speed_text(bits_per_second: int) -> str:
    """``1000000000`` → ``"1 Gbps"``, ``2500000000`` → ``"2.5 Gbps"``, ``100000000`` → ``"100 Mbps"``."""
    for unit, size in (("Gbps", 10**9), ("Mbps", 10**6), ("Kbps", 10**3)):
        if bits_per_second >= size:
            return f"{bits_per_second / size:g} {unit}"
    return f"{bits_per_second} bps"


def _ipv4_u32(address: str) -> int:
    """NM's ``ipv4.dns`` is ``au`` holding each address in network byte order as a host integer."""
    return struct.unpack("=I", socket.inet_aton(address))[0]


def _ipv4_str(value: int) -> str:
    return socket.inet_ntoa(struct.pack("=I", value))


def if_index_of(ctx, dev: dict) -> int:
    """A device's kernel ifindex: NM's ``Ifindex`` where published, else sysfs (0: not in the kernel)."""
    if dev.get("Ifindex"):
        return int(dev["Ifindex"])
    return _sysfs_int(ctx, dev.get("Interface", ""), "ifindex")


def _sysfs_int(ctx, name: str, *parts: str) -> int:
    try:
        return int(ctx.paths.sysfs("class", "net", name, *parts).read_text().strip())
    except (OSError, ValueError):
        return 0


class NmNetworkingDriver:
    """The ``networking`` capability over NetworkManager. Config: ``networking.Settings``."""

    name = "linux.networking"

    def __init__(self, ctx, settings):
        self.ctx, self.settings = ctx, settings
        self.bus_address = settings.bus_address
        self.timeout = settings.timeout_seconds
        self.margin = getattr(settings, "checkpoint_margin_seconds", 30.0)
        self.absent_reason = ""

    def probe(self) -> bool:
        if nm_dbus.networkmanager_runs(self.bus_address):
            return True
        self.absent_reason = f"NetworkManager does not answer on {self.bus_address}"
        return False

    def _session(self, seconds: float | None = None):
        return nm_dbus.session(self.bus_address, min(CALL_TIMEOUT, self.timeout), seconds or 3 * self.timeout)

    # -- reading -------------------------------------------------------------------------------------
    def interfaces(self) -> list[dict]:
        with self._session() as bus:
            return [found for path, props in bus.devices().items()
                    if props.get("DeviceType") != TYPE_LOOPBACK and props.get("Interface") != "lo"
                    and (found := self._interface(bus, path, props)) is not None]

    def _interface(self, bus, path: str, dev: dict) -> dict | None:
        name = dev.get("Interface", "")
        if_index = if_index_of(self.ctx, dev)
        if not if_index:
            return None  # not realized in the kernel (yet)
        kind = DEVICE_TYPES.get(dev.get("DeviceType"), "Other")
        found = {"ifIndex": if_index, "uuid": name, "name": name, "description": "", "type": kind,
                 "typeId": TYPE_IDS[kind], "mtu": int(dev.get("Mtu", 0)),
                 "connected": self._carrier(name, dev), "isDefault": False, "dhcpEnabled": False,
                 "hardwareAddress": dev.get("HwAddress", "").lower(), "addresses": [], "gateway": [], "dns": []}
        bits = self._speed(bus, path, dev.get("DeviceType"))
        if bits:
            found.update(speed=speed_text(bits), sendSpeed=bits, recvSpeed=bits)
        suffixes = []
        default_metrics = {}
        for family, key, iface in ((4, "Ip4Config", IP4CONFIG), (6, "Ip6Config", IP6CONFIG)):
            config_path = dev.get(key, "/")
            if config_path == "/":
                continue
            try:
                config = bus.props(config_path, iface)
            except NmGone:
                continue
            found["addresses"] += [f"{a['address']}/{a['prefix']}" for a in config.get("AddressData", [])]
            if config.get("Gateway"):
                found["gateway"].append(config["Gateway"])
            found["dns"] += _nameservers(config, family)
            suffixes += config.get("Domains", []) + config.get("Searches", [])
            metrics = [r.get("metric") for r in config.get("RouteData", [])
                       if r.get("prefix") == 0 and r.get("metric") is not None]
            if metrics:
                default_metrics[family] = min(metrics)
        if suffixes:
            found["dnssuffix"] = suffixes[0]
        active = dev.get("ActiveConnection", "/")
        if active != "/":
            try:
                found.update(self._profile_fields(bus, active, default_metrics))
            except NmGone:
                pass
        else:
            found.update({f"ipv{f}Metric": m for f, m in default_metrics.items()})
        found["iocounters"] = self._counters(name, if_index)
        return found

    def _profile_fields(self, bus, active: str, default_metrics: dict) -> dict:
        props = bus.props(active, ACTIVE)
        settings = plain(bus.settings(props["Connection"]))
        fields = {"isDefault": bool(props.get("Default")),
                  "dhcpEnabled": settings.get("ipv4", {}).get("method") == "auto"}
        for family in (4, 6):
            metric = settings.get(f"ipv{family}", {}).get("route-metric", -1)
            if metric is not None and metric >= 0:
                fields[f"ipv{family}Metric"] = int(metric)
            elif family in default_metrics:
                fields[f"ipv{family}Metric"] = default_metrics[family]
        return fields

    def _speed(self, bus, path: str, device_type) -> int:
        try:
            if device_type == TYPE_WIFI:
                return int(bus.get(path, WIRELESS, "Bitrate")) * 1000
            if DEVICE_TYPES.get(device_type) == "Ethernet":  # veth, bonds, VLANs too (0: unknown)
                return int(bus.get(path, WIRED, "Speed")) * 1_000_000
        except NmError:
            pass
        return 0

    def _carrier(self, name: str, dev: dict) -> bool:
        """``connected`` is the carrier, as with the netlink driver: sysfs ``operstate`` "up"; where the
        kernel does not know ("unknown": tun, some drivers) or sysfs is not there, NM's activated state."""
        try:
            operstate = self.ctx.paths.sysfs("class", "net", name, "operstate").read_text().strip()
        except OSError:
            operstate = "unknown"
        return operstate == "up" if operstate != "unknown" else dev.get("State") == DEVICE_ACTIVATED

    def _counters(self, name: str, if_index: int) -> dict:
        counters = {"ifindex": if_index}
        for field, attr in COUNTERS.items():
            counters[field] = _sysfs_int(self.ctx, name, "statistics", attr)
        return counters

    # -- writing -------------------------------------------------------------------------------------
    def set_static_ipv4(self, if_index: int, config: dict) -> None:
        prefix = ipaddress.IPv4Network(f"0.0.0.0/{config['subnetMask']}").prefixlen
        dns = [d for d in (config.get("primaryDNS"), config.get("secondaryDNS")) if d]
        ipv4 = {"method": ("s", "manual"),
                "address-data": ("aa{sv}", [{"address": ("s", config["ipAddress"]), "prefix": ("u", prefix)}]),
                "dns": ("au", [_ipv4_u32(d) for d in dns])}
        if config.get("defaultGateway"):
            ipv4["gateway"] = ("s", config["defaultGateway"])
        self._change_ipv4(if_index, ipv4, wait=True)

    def set_dhcp(self, if_index: int) -> None:
        self._change_ipv4(if_index, {"method": ("s", "auto")}, wait=False)

    def _change_ipv4(self, if_index: int, ipv4: dict, wait: bool) -> None:
        with self._session(3 * self.timeout) as bus:
            device, dev = self._device_by_index(bus, if_index)
            connection, settings = self._profile_of(bus, device, dev)
            old = settings.get("ipv4", {})
            kept = {k: v for k, v in old.items() if k not in
                    ("method", "addresses", "address-data", "gateway", "dns", "dns-data")
                    and not (k == "routes" and "route-data" in old)}
            settings["ipv4"] = {**kept, **ipv4}
            if connection is None:
                (connection,) = bus.call(SETTINGS_PATH, SETTINGS, "AddConnection", "a{sa{sv}}", settings)
            else:
                bus.call(connection, CONNECTION, "Update", "a{sa{sv}}", settings)
            log.info("networking: %s: ipv4.method %s saved in profile %s", dev["Interface"],
                     ipv4["method"][1], plain(settings["connection"]).get("id"))
            self._activate(bus, connection, device, dev["Interface"], wait)

    def _activate(self, bus, connection: str, device: str, name: str, wait: bool) -> None:
        (active,) = bus.call(NM_PATH, NM, "ActivateConnection", "ooo", connection, device, "/")
        if not wait:
            return

        def state():
            try:
                value = bus.get(active, ACTIVE, "State")
            except NmGone:
                return ACTIVE_DEACTIVATED
            return value if value in (ACTIVE_ACTIVATED, ACTIVE_DEACTIVATED) else None

        result = bus.wait(self.timeout, state)
        if result != ACTIVE_ACTIVATED:
            reason = "it was deactivated" if result == ACTIVE_DEACTIVATED else \
                f"it is not active after {self.timeout:g} s"
            raise DriverError(f"NetworkManager could not apply the configuration of {name}: {reason}")

    def set_route_metrics(self, metrics: dict[str, int], ipv6: bool) -> None:
        family = "ipv6" if ipv6 else "ipv4"
        with self._session(3 * self.timeout + len(metrics) * self.timeout) as bus:
            devices = {props.get("Interface"): (path, props) for path, props in bus.devices().items()}
            missing = sorted(set(metrics) - set(devices))
            if missing:
                raise NotFound(f"no interface {', '.join(missing)}")
            for name, metric in metrics.items():
                device, dev = devices[name]
                connection, settings = self._profile_of(bus, device, dev)
                settings.setdefault(family, {})["route-metric"] = ("x", int(metric))
                if connection is None:
                    settings.setdefault("ipv4", {}).setdefault("method", ("s", "auto"))
                    (connection,) = bus.call(SETTINGS_PATH, SETTINGS, "AddConnection", "a{sa{sv}}", settings)
                    self._activate(bus, connection, device, name, wait=False)
                    continue
                bus.call(connection, CONNECTION, "Update", "a{sa{sv}}", settings)
                if dev.get("ActiveConnection", "/") == "/":
                    continue  # saved: it applies when the profile is next activated
                try:
                    bus.call(device, DEVICE, "Reapply", "a{sa{sv}}tu", {}, 0, 0)
                except NmGone:
                    raise
                except NmError as exc:  # e.g. a profile change NM cannot apply in place
                    log.info("networking: %s: reapply refused (%s), reactivating", name, exc)
                    self._activate(bus, connection, device, name, wait=False)
            log.info("networking: %s.route-metric set: %s", family, metrics)

    def _device_by_index(self, bus, if_index: int) -> tuple[str, dict]:
        for path, props in bus.devices().items():
            if if_index_of(self.ctx, props) == if_index and props.get("Interface") != "lo":
                return path, props
        raise NotFound(f"no interface with ifIndex {if_index}")

    def _profile_of(self, bus, device: str, dev: dict) -> tuple[str | None, dict]:
        """The profile to change for a device: the active one, else the first one NM offers for it,
        else (path None) new settings for an Ethernet profile named after the interface."""
        active = dev.get("ActiveConnection", "/")
        if active != "/":
            try:
                path = bus.get(active, ACTIVE, "Connection")
                return path, bus.settings(path)
            except NmGone:
                pass
        for path in bus.get(device, DEVICE, "AvailableConnections"):
            try:
                return path, bus.settings(path)
            except NmGone:
                continue
        name = dev.get("Interface", "")
        if dev.get("DeviceType") == TYPE_WIFI:
            raise DriverError(f"{name} has no saved Wi-Fi profile to configure; join a network first")
        return None, {"connection": {"id": ("s", name), "type": ("s", "802-3-ethernet"),
                                     "interface-name": ("s", name)},
                      "ipv6": {"method": ("s", "auto")}}

    # -- the change window ---------------------------------------------------------------------------
    def _rollback_seconds(self, timeout_seconds: float) -> int:
        return math.ceil(timeout_seconds + self.margin)

    def snapshot(self, timeout_seconds: float) -> dict:
        with self._session() as bus:
            try:
                (checkpoint,) = bus.call(NM_PATH, NM, "CheckpointCreate", "aouu", [],
                                         self._rollback_seconds(timeout_seconds), CHECKPOINT_DELETE_NEW_CONNECTIONS)
            except NmError as exc:
                raise DriverError(f"NetworkManager cannot take a checkpoint for the rollback ({exc}); "
                                  "another change may still be pending") from None
        log.info("networking: NetworkManager checkpoint %s (rolls back by itself after %d s)", checkpoint,
                 self._rollback_seconds(timeout_seconds))
        return {"checkpoint": checkpoint}

    def restore(self, snapshot: dict) -> None:
        with self._session(4 * self.timeout) as bus:
            try:
                (results,) = bus.call(NM_PATH, NM, "CheckpointRollback", "o", snapshot["checkpoint"])
            except NmError as exc:
                if _checkpoint_gone(exc):
                    log.info("networking: checkpoint %s already gone (NetworkManager rolled it back or it "
                             "expired)", snapshot["checkpoint"])
                    return
                raise
        # NMRollbackResult: 0 done, 1 the device is gone (unplugged), 2 no longer managed, 3 failed
        failed = sorted(path for path, result in results.items() if result == 3)
        skipped = sorted(path for path, result in results.items() if result in (1, 2))
        log.info("networking: rolled back to checkpoint %s%s", snapshot["checkpoint"],
                 f" (devices gone or unmanaged since: {', '.join(skipped)})" if skipped else "")
        if failed:
            raise DriverError(f"NetworkManager could not roll back {len(failed)} device(s): {', '.join(failed)}")

    def release(self, snapshot: dict) -> None:
        with self._session() as bus:
            try:
                bus.call(NM_PATH, NM, "CheckpointDestroy", "o", snapshot["checkpoint"])
            except NmError as exc:
                if not _checkpoint_gone(exc):
                    raise

    def extend(self, snapshot: dict, timeout_seconds: float) -> None:
        with self._session() as bus:
            bus.call(NM_PATH, NM, "CheckpointAdjustRollbackTimeout", "ou", snapshot["checkpoint"],
                     self._rollback_seconds(timeout_seconds))


def _checkpoint_gone(exc: NmError) -> bool:
    # NM answers an unknown checkpoint with InvalidArguments "checkpoint ... does not exist"
    return isinstance(exc, NmGone) or "does not exist" in str(exc) or "not found" in str(exc).lower()


def _nameservers(config: dict, family: int) -> list[str]:
    if family == 4:
        if "NameserverData" in config:
            return [n["address"] for n in config["NameserverData"]]
        return [_ipv4_str(n) for n in config.get("Nameservers", [])]
    return [str(ipaddress.IPv6Address(bytes(n))) for n in config.get("Nameservers", [])]
