"""The ``networking`` driver of machines without NetworkManager: the live state read and changed over
rtnetlink (pyroute2), the persistent configuration written by ``net_persist``, the DHCP client started
and stopped as a command. No Flask here.

Reading (every call reads everything afresh: an adapter plugged in later is simply there next time):

* links, their IPv4 then IPv6 addresses (CIDR), MTU, ``operstate`` (``connected`` is "up"), MAC and
  the kernel's 64-bit counters (``IFLA_STATS64``, the ones ``ip -s link`` shows); loopback left out;
* default routes of the main table per family: ``gateway`` lists the gateways through the adapter,
  ``ipv4Metric``/``ipv6Metric`` its lowest default-route metric; ``isDefault`` is the adapter of the
  lowest-metric IPv4 default route (multipath default routes, which name no single adapter, and
  other routing tables are neither shown nor changed);
* ``speed`` from ``<sysfs>/class/net/<if>/speed`` (Mbit/s; -1, 0 or unreadable means unknown and the
  three speed fields are left out); ``type`` from the ARPHRD type plus ``wireless``/``phy80211``/
  ``bridge`` in sysfs (the table in ``plugins/networking/interface.py``); ``description`` from the USB
  device's ``manufacturer``/``product`` strings or the PCI ids looked up in ``pci.ids``, else "";
* ``dns``/``dnssuffix``: when ``resolv_conf`` names systemd-resolved's stub (127.0.0.53), resolved's
  servers and search domain for the link (its ``DNS``/``Domains`` properties on ``bus_address``);
  else the interface's persistent file when it names servers; else the machine-wide servers
  (resolved's global ones, or ``resolv_conf``'s ``nameserver`` lines and ``search``/``domain``) for
  adapters that carry a default route;
* ``dhcpEnabled``: what the interface's persistent file says when portald wrote one; otherwise true
  when an IPv4 address of the adapter is not permanent (no ``IFA_F_PERMANENT`` or a finite valid
  lifetime — DHCP clients add their lease that way; a static address never expires).

Writing: ``set_static_ipv4`` writes the persistent file, stops the DHCP client, flushes the link's
IPv4 addresses, adds the new one (and sets the link up), replaces the link's IPv4 default route by one
through the gateway with the link's previous metric. DNS servers go into the persistent file; the
machine's ``resolv_conf`` is rewritten only with stack ``"none"`` and ``manage_resolv_conf = true``
(its ``search``/``domain``/``options`` lines are kept). ``set_dhcp`` writes the persistent file,
removes the link's permanent IPv4 addresses and starts the DHCP client (the lease comes later). The
client is stopped only for an adapter that was on DHCP, and started only for one that was not (an
adapter already on DHCP keeps its client and lease).
``set_route_metrics`` adds a copy of each default route of the family with the new metric, then
deletes the old one (a default route exists at every moment), and persists the metric; for IPv6 it
also sets ``net.ipv6.conf.<if>.ra_defrtr_metric`` (under ``procfs_root``), the metric of default
routes learnt from router advertisements, which is live only (networkd persists it as
``[IPv6AcceptRA] RouteMetric=``, ifupdown does not). A copied RA route has no expiry.

The DHCP client: ``dhcp_command``/``dhcp_release_command`` + the interface name when set; otherwise
by stack: ifupdown and "none" run ``dhclient`` with the pid and lease files Debian's ifupdown uses
(``/run/dhclient.<if>.pid``, ``/var/lib/dhcp/dhclient.<if>.leases``), so a later ``ifdown`` finds it;
``-nw`` returns at once (``-r`` releases and stops it); networkd: ``networkctl reload`` then
``networkctl reconfigure <if>`` (networkd's own DHCP client, after the file changed).

How it blocks: netlink sockets and file writes block, commands must not run in a pool thread. So the
driver itself is not ``blocking``: everything touching netlink, sysfs and the files is in
``NetlinkIO``, which the driver calls through ``ctx.blocking`` (the threadpool, under the daemon's
driver timeout), and the commands run through ``ctx.runner`` on the event loop. (In the daemon gevent
patches ``os.close`` to defer closing until the calling thread's hub runs; a pool thread that has used
a gevent socket — pyroute2 does — would then hang the standard library's ``subprocess`` on its
never-closed exec pipe.)

Rollback: ``snapshot()`` is plain data (per interface: IPv4 addresses, default routes of both
families, dhcp or static, the persistent file's text or its absence; ifupdown's main file and a
managed ``resolv_conf``); ``restore()`` brings back files, addresses, routes and the DHCP client, and
does nothing to an interface already as in the snapshot (so it can run twice, and after a restart).
There is no driver-side timer: ``release()`` has nothing to do.
"""
from __future__ import annotations

import errno
import ipaddress
import logging
import os
import shlex
import socket
from contextlib import contextmanager
from pathlib import Path

from portald.drivers import DriverError, NotFound
from portald.net_types import TYPE_IDS
from portald.runner import CommandFailed
from portald.state import atomic_write

from . import host_paths
from .net_persist import PersistentConfig, PersistentStore, check_ifname
from .sysfs import read_attr_or_none, read_int_or_none

log = logging.getLogger("portald.plugins.networking")

ARPHRD_ETHER, ARPHRD_LOOPBACK, ARPHRD_PPP = 1, 772, 512
ARPHRD_TUNNELS = frozenset({768, 769, 776, 778, 65534})  # TUNNEL, TUNNEL6, SIT, IPGRE, NONE (WireGuard)
IFA_F_PERMANENT = 0x80
INFINITY_LIFETIME = 0xFFFFFFFF
MAIN_TABLE = 254
RTPROT_STATIC = 4
SNAPSHOT_VERSION = 1
RESOLVED = "org.freedesktop.resolve1"
RESOLVED_PATH = "/org/freedesktop/resolve1"
RESOLVED_MANAGER = "org.freedesktop.resolve1.Manager"
RESOLVED_STUB = "127.0.0.53"

# Debian ifupdown's dhclient files (its "inet dhcp" method), used when dhcp_command is not set
DHCLIENT_PID = "/run/dhclient.{}.pid"
DHCLIENT_LEASES = "/var/lib/dhcp/dhclient.{}.leases"


# pure helpers (tested without namespaces) ---------------------------------------------------------------

def speed_text(mbits: int) -> str:
    """``"100 Mbps"``, ``"1 Gbps"``, ``"2.5 Gbps"`` for a sysfs speed in Mbit/s."""
    if mbits < 1000:
        return f"{mbits} Mbps"
    return f"{mbits / 1000:g} Gbps"


def interface_type(arphrd: int, wireless: bool = False, bridge: bool = False) -> str:
    """A key of ``TYPE_IDS`` for the link's ARPHRD type and what sysfs says about it."""
    if arphrd == ARPHRD_ETHER:
        return "Wi-Fi" if wireless else "Bridge" if bridge else "Ethernet"
    if arphrd == ARPHRD_LOOPBACK:
        return "Loopback"
    if arphrd == ARPHRD_PPP:
        return "PPP"
    if arphrd in ARPHRD_TUNNELS:
        return "Tunnel"
    return "Other"


def parse_resolv_conf(text: str) -> tuple[list[str], str]:
    """``(nameservers, dnssuffix)``: the ``nameserver`` lines, and the last ``search``/``domain``
    line's first domain (as the resolver does, the last of the two wins)."""
    servers, suffix = [], ""
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith(("#", ";")):
            continue
        if words[0] == "nameserver" and len(words) > 1:
            servers.append(words[1])
        elif words[0] in ("search", "domain") and len(words) > 1:
            suffix = words[1]
    return servers, suffix


def render_resolv_conf(old: str, servers: list[str]) -> str:
    """``old`` with its ``nameserver`` lines replaced by ``servers`` (other lines kept)."""
    kept = [line for line in old.splitlines() if not line.split()[:1] == ["nameserver"]]
    return "\n".join(kept + [f"nameserver {s}" for s in servers]) + "\n"


def is_dynamic(addr_msg) -> bool:
    """A netlink address that expires or is not flagged permanent: a DHCP (or SLAAC) address."""
    flags = addr_msg.get_attr("IFA_FLAGS")
    if flags is None:
        flags = addr_msg.get("flags", 0)
    cache = addr_msg.get_attr("IFA_CACHEINFO") or {}
    return not flags & IFA_F_PERMANENT or cache.get("ifa_valid", INFINITY_LIFETIME) != INFINITY_LIFETIME


def prefix_of(mask: str) -> int:
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
    except ValueError:
        raise DriverError(f"invalid subnet mask {mask!r}") from None


def client_commands(settings, stack: str, name: str, start: bool) -> list[list[str]]:
    """The commands that start (or, ``start`` false, stop) the DHCP client of ``name``."""
    configured = settings.dhcp_command if start else settings.dhcp_release_command
    if configured:
        return [[*configured, name]]
    if stack == "networkd":  # networkd's own client follows the rewritten file
        return [["networkctl", "reload"], ["networkctl", "reconfigure", name]]
    return [["dhclient", "-4", "-nw" if start else "-r", "-pf", DHCLIENT_PID.format(name),
             "-lf", DHCLIENT_LEASES.format(name), name]]


def _route_data(msg) -> dict:
    return {"family": 4 if msg["family"] == socket.AF_INET else 6, "gateway": msg.get_attr("RTA_GATEWAY") or "",
            "metric": msg.get_attr("RTA_PRIORITY") or 0, "proto": msg.get("proto")}


def _route_spec(index: int, route: dict) -> dict:
    spec = {"family": socket.AF_INET if route["family"] == 4 else socket.AF_INET6,
            "dst": "0.0.0.0/0" if route["family"] == 4 else "::/0", "oif": index, "table": MAIN_TABLE,
            "priority": route["metric"]}
    if route["gateway"]:
        spec["gateway"] = route["gateway"]
    return spec


def _lowest(routes: list[dict], family: int) -> int | None:
    metrics = [r["metric"] for r in routes if r["family"] == family]
    return min(metrics) if metrics else None


def _address_data(msg) -> dict:
    return {"address": msg.get_attr("IFA_ADDRESS"), "prefixlen": msg["prefixlen"], "dynamic": is_dynamic(msg),
            "broadcast": msg.get_attr("IFA_BROADCAST") or ""}


def _with_broadcast(address: str, prefixlen: int) -> dict:
    """``{(address, prefixlen): broadcast}`` with the subnet's broadcast address, as ``ip addr add
    ... brd +`` and DHCP clients set it (none for /31 and /32)."""
    network = ipaddress.IPv4Interface(f"{address}/{prefixlen}").network
    return {(address, prefixlen): str(network.broadcast_address) if prefixlen < 31 else ""}


def _pairs(addresses: list[dict]) -> set[tuple[str, int]]:
    return {(a["address"], a["prefixlen"]) for a in addresses}


# netlink, sysfs and files: blocking, run in the threadpool ----------------------------------------------

class NetlinkIO:
    """Everything of the driver that blocks. Methods take and return plain data."""

    def __init__(self, paths, settings, store: PersistentStore):
        self.paths, self.settings, self.store = paths, settings, store
        self._ids = None

    @contextmanager
    def _ipr(self):
        """An rtnetlink socket for one call; the kernel's refusals (pyroute2's NetlinkError) leave it
        as ``OSError`` with the errno, which the plugin answers as 422."""
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError

        ipr = IPRoute()
        try:
            yield ipr
        except NetlinkError as exc:
            raise OSError(exc.code, f"netlink: {os.strerror(exc.code) if exc.code else exc}") from None
        finally:
            ipr.close()

    def probe(self) -> str:
        """"" when rtnetlink answers and ``sysfs_root`` is this kernel's sysfs, else why not. rtnetlink
        answers for the running kernel whatever the roots say: with sysfs_root on another machine's tree
        (a fixture, a chroot) its adapters would be this machine's mixed with that tree's sysfs facts, so
        the driver stays out. The live sysfs lists every link netlink knows under ``class/net``."""
        try:
            with self._ipr() as ipr:
                names = {msg.get_attr("IFLA_IFNAME") for msg in ipr.get_links()}
        except OSError as exc:
            return f"no rtnetlink: {exc}"
        try:
            listed = set(os.listdir(self.paths.sysfs("class", "net")))
        except OSError:
            listed = set()
        if not names <= listed:
            return f"{self.paths.sysfs('class', 'net')} does not list this kernel's links: not the live sysfs"
        return ""

    # reading ---------------------------------------------------------------------------------------
    def _state(self, ipr) -> dict[int, dict]:
        """Every link but loopback with its addresses and main-table default routes, by ifindex."""
        links = {}
        for msg in ipr.get_links():
            if msg.get("ifi_type") == ARPHRD_LOOPBACK:
                continue
            links[msg["index"]] = {
                "name": msg.get_attr("IFLA_IFNAME"), "arphrd": msg.get("ifi_type"),
                "up": msg.get_attr("IFLA_OPERSTATE") == "UP", "mtu": msg.get_attr("IFLA_MTU") or 0,
                "mac": (msg.get_attr("IFLA_ADDRESS") or "").lower(),
                "stats": msg.get_attr("IFLA_STATS64") or msg.get_attr("IFLA_STATS") or {},
                "v4": [], "v6": [], "routes": []}
        for msg in ipr.get_addr():
            link = links.get(msg["index"])
            if link is not None and msg["family"] in (socket.AF_INET, socket.AF_INET6):
                link["v4" if msg["family"] == socket.AF_INET else "v6"].append(_address_data(msg))
        for family in (socket.AF_INET, socket.AF_INET6):
            for msg in ipr.get_routes(family=family, table=MAIN_TABLE):
                if msg["dst_len"] != 0 or msg.get("type", 1) != 1:
                    continue
                link = links.get(msg.get_attr("RTA_OIF"))
                if link is not None:
                    link["routes"].append(_route_data(msg))
        return links

    def _dhcp(self, link: dict, persistent: PersistentConfig | None) -> bool:
        if persistent is not None:
            return persistent.method == "dhcp"
        return any(a["dynamic"] for a in link["v4"])

    def interfaces(self) -> list[dict]:
        with self._ipr() as ipr:
            links = self._state(ipr)
        v4_defaults = [(r["metric"], index) for index, link in links.items() for r in link["routes"]
                       if r["family"] == 4]
        default_index = min(v4_defaults)[1] if v4_defaults else None
        resolver = self._resolver()
        return [self._interface(index, link, index == default_index, resolver)
                for index, link in sorted(links.items())]

    def _interface(self, index: int, link: dict, is_default: bool, resolver: dict) -> dict:
        name, stats = link["name"], link["stats"]
        kind = interface_type(link["arphrd"], self._sysfs(name, "wireless").exists()
                              or self._sysfs(name, "phy80211").exists(), self._sysfs(name, "bridge").exists())
        persistent = self.persistent(name)
        dns, suffix = _dns_of(index, link, persistent, resolver)
        found = {
            "ifIndex": index, "uuid": name, "name": name,
            "description": self._description(name),
            "type": kind, "typeId": TYPE_IDS[kind],
            "mtu": link["mtu"], "connected": link["up"], "isDefault": is_default,
            "dhcpEnabled": self._dhcp(link, persistent),
            "hardwareAddress": link["mac"],
            "addresses": [f"{a['address']}/{a['prefixlen']}" for a in link["v4"] + link["v6"]],
            "gateway": [r["gateway"] for r in sorted(link["routes"], key=lambda r: r["family"]) if r["gateway"]],
            "dns": dns,
            "iocounters": {
                "ifindex": index,
                "bytesSent": stats.get("tx_bytes", 0), "bytesRecv": stats.get("rx_bytes", 0),
                "packetsSent": stats.get("tx_packets", 0), "packetsRecv": stats.get("rx_packets", 0),
                "errin": stats.get("rx_errors", 0), "errout": stats.get("tx_errors", 0),
                "dropin": stats.get("rx_dropped", 0), "dropout": stats.get("tx_dropped", 0),
                "fifoin": stats.get("rx_fifo_errors", 0), "fifoout": stats.get("tx_fifo_errors", 0),
            },
        }
        mbits = read_int_or_none(self._sysfs(name, "speed"))
        if mbits is not None and mbits > 0:
            found.update(speed=speed_text(mbits), sendSpeed=mbits * 1_000_000, recvSpeed=mbits * 1_000_000)
        if suffix and dns:
            found["dnssuffix"] = suffix
        for family, key in ((4, "ipv4Metric"), (6, "ipv6Metric")):
            metric = _lowest(link["routes"], family)
            if metric is not None:
                found[key] = metric
        return found

    def _sysfs(self, name: str, *parts: str) -> Path:
        return self.paths.sysfs("class", "net", name, *parts)

    def _description(self, name: str) -> str:
        device = self._sysfs(name, "device")
        try:
            kind = os.path.basename(os.readlink(device / "subsystem"))
        except OSError:
            return ""
        if kind == "usb":  # device is the USB interface; its parent is the USB device
            words = [read_attr_or_none(device / ".." / f) for f in ("manufacturer", "product")]
            return " ".join(w for w in words if w)
        if kind == "pci":
            vendor, model = (read_attr_or_none(device / f) for f in ("vendor", "device"))
            if not vendor or not model:
                return ""
            if self._ids is None:  # pci.ids is parsed once per daemon run, on the first PCI adapter
                from .devmgr_names import IdsDatabase

                self._ids = IdsDatabase(host_paths.IDS_DIRS)
            names = self._ids.lookup("pci", vendor.removeprefix("0x"), model.removeprefix("0x"))
            return " ".join(n for n in names if n)
        return ""

    def persistent(self, name: str) -> PersistentConfig | None:
        try:
            return self.store.read(name)
        except ValueError:  # a name our files could not have been written for
            return None
        except OSError as exc:
            log.warning("cannot read the persistent config of %s: %s", name, exc)
            return None

    def _resolver(self) -> dict[int, tuple[list[str], str]]:
        """``{ifindex: (servers, search domain)}``, key 0 the machine-wide resolver: ``resolv_conf``,
        or, when that names systemd-resolved's stub (127.0.0.53), resolved's own per-link and global
        servers over D-Bus (``bus_address``); the stub stays when resolved does not answer."""
        try:
            servers, suffix = parse_resolv_conf(Path(self.settings.resolv_conf).read_text(
                encoding="utf-8", errors="replace"))
        except OSError:
            servers, suffix = [], ""
        found = {0: (servers, suffix)}
        if RESOLVED_STUB in servers:
            found.update(self._resolved())
        return found

    def _resolved(self) -> dict[int, tuple[list[str], str]]:
        from . import nm_dbus

        try:
            with nm_dbus.session(self.settings.bus_address, 1.0, 2.0) as bus:
                servers, domains = (nm_dbus.plain(bus.call(RESOLVED_PATH, nm_dbus.PROPERTIES, "Get", "ss",
                                                           RESOLVED_MANAGER, prop, to=RESOLVED)[0])
                                    for prop in ("DNS", "Domains"))
        except DriverError as exc:
            log.debug("systemd-resolved not asked: %s", exc)
            return {}
        found: dict[int, tuple[list[str], str]] = {}
        for ifindex, _family, raw in servers:  # a(iiay)
            try:
                found.setdefault(ifindex, ([], ""))[0].append(str(ipaddress.ip_address(bytes(raw))))
            except ValueError:
                continue
        for ifindex, domain, routing_only in domains:  # a(isb): "~domain" entries only route queries
            entry = found.setdefault(ifindex, ([], ""))
            if not routing_only and not entry[1]:
                found[ifindex] = (entry[0], domain)
        return found

    # writing ---------------------------------------------------------------------------------------
    def _lookup(self, ipr, index: int | None = None, name: str | None = None) -> tuple[int, dict]:
        """``(ifindex, link)`` of the link named by index or name; ``NotFound`` for none or loopback."""
        links = self._state(ipr)
        if index is None:
            index = next((i for i, link in links.items() if link["name"] == name), None)
        if index not in links:
            raise NotFound(f"no network interface {name if name is not None else index}")
        try:
            check_ifname(links[index]["name"])
        except ValueError as exc:  # a name no config file could hold
            raise DriverError(f"cannot configure this interface: {exc}") from None
        return index, links[index]

    def prepare_static(self, if_index: int, config: dict) -> tuple[str, bool]:
        """Writes the persistent file of a static configuration; the interface's name, and whether it
        was on DHCP."""
        with self._ipr() as ipr:
            _, link = self._lookup(ipr, index=if_index)
        name, old = link["name"], self.persistent(link["name"])
        self._write_persistent(name, _config(
            "static", f"{config['ipAddress']}/{prefix_of(config['subnetMask'])}", config.get("defaultGateway") or "",
            _dns(config), *_kept_metrics(link, old)))
        return name, self._dhcp(link, old)

    def apply_static(self, if_index: int, config: dict) -> None:
        """The live part of ``set_static_ipv4`` (after the DHCP client was stopped)."""
        prefix = prefix_of(config["subnetMask"])
        with self._ipr() as ipr:
            index, link = self._lookup(ipr, index=if_index)
            self._set_addresses(ipr, index, link, _with_broadcast(config["ipAddress"], prefix))
            # the DHCP client's release may have taken the route: then the metric prepare_static kept
            metric = _kept_metrics(link, self.persistent(link["name"]))[0]
            gateway = config.get("defaultGateway") or ""
            self._set_routes(ipr, index, 4, [{"family": 4, "gateway": gateway, "metric": metric or 0}]
                             if gateway else [])
        if self.store.stack == "none" and self.settings.manage_resolv_conf and _dns(config):
            self._write_resolv_conf(_dns(config))
        log.info("%s: static %s/%d, gateway %s", link["name"], config["ipAddress"], prefix, gateway or "none")

    def prepare_dhcp(self, if_index: int) -> tuple[str, bool]:
        """Writes the persistent file and removes the static IPv4 addresses; the interface's name,
        and whether it was on DHCP already."""
        with self._ipr() as ipr:
            index, link = self._lookup(ipr, index=if_index)
            name, old = link["name"], self.persistent(link["name"])
            metric, ipv6_metric = _kept_metrics(link, old)
            self._write_persistent(name, _config("dhcp", metric=metric, ipv6_metric=ipv6_metric))
            self._set_addresses(ipr, index, link, {(a["address"], a["prefixlen"]): a["broadcast"]
                                                   for a in link["v4"] if a["dynamic"]})
        log.info("%s: DHCP", name)
        return name, self._dhcp(link, old)

    def _set_addresses(self, ipr, index: int, link: dict, wanted: dict) -> None:
        """The link's IPv4 addresses become ``wanted`` (``{(address, prefix): broadcast or ""}``); the
        others go first (a new address in the subnet of an old primary one would be removed with
        it), and the link is set up."""
        current = _pairs(link["v4"])
        for addr, prefixlen in current - set(wanted):
            _quiet(ipr.addr, "del", index=index, address=addr, prefixlen=prefixlen)
        for (addr, prefixlen), broadcast in sorted(wanted.items()):
            if (addr, prefixlen) not in current:
                ipr.addr("add", index=index, address=addr, prefixlen=prefixlen,
                         **({"broadcast": broadcast} if broadcast else {}))
        ipr.link("set", index=index, state="up")

    def _set_routes(self, ipr, index: int, family: int, wanted: list[dict]) -> None:
        """The link's default routes of ``family`` (4 or 6) become ``wanted`` (gateway, metric):
        missing ones are added before the others are removed."""
        current = [r for r in self._state(ipr)[index]["routes"] if r["family"] == family]
        have = {(r["gateway"], r["metric"]) for r in current}
        for route in wanted:
            if (route["gateway"], route["metric"]) not in have:
                _add_route(ipr, index, route)
        keep = {(r["gateway"], r["metric"]) for r in wanted}
        for route in current:
            if (route["gateway"], route["metric"]) not in keep:
                _quiet(ipr.route, "del", **_route_spec(index, route))

    def set_route_metrics(self, metrics: dict[str, int], ipv6: bool) -> None:
        family = 6 if ipv6 else 4
        with self._ipr() as ipr:
            found = [(self._lookup(ipr, name=str(uuid)), int(metric)) for uuid, metric in metrics.items()]
            for (index, link), metric in found:
                for route in [r for r in link["routes"] if r["family"] == family]:
                    if route["metric"] != metric:
                        _add_route(ipr, index, {**route, "metric": metric})
                        _quiet(ipr.route, "del", **_route_spec(index, route))
                if family == 6:
                    self._write_ra_metric(link["name"], metric)
                self._persist_metric(link, family, metric)
        log.info("route metrics (IPv%d): %s", family, ", ".join(f"{link['name']}={m}" for (_, link), m in found))

    def _ra_metric_file(self, name: str) -> Path:
        return self.paths.procfs("sys", "net", "ipv6", "conf", check_ifname(name), "ra_defrtr_metric")

    def _write_ra_metric(self, name: str, metric: int) -> None:
        """The metric the kernel gives the default routes it learns from router advertisements on
        ``name`` (Linux 5.18+): without it the next RA would bring back a route with metric 1024."""
        path = self._ra_metric_file(name)
        if not path.exists() or read_int_or_none(path) == metric:
            return
        try:
            path.write_text(f"{metric}\n")
        except OSError as exc:
            log.warning("cannot set %s: %s", path, exc.strerror)

    def _persist_metric(self, link: dict, family: int, metric: int) -> None:
        if self.store.stack == "none":
            return
        config = self.persistent(link["name"])
        if config is None:  # no file of ours yet: one that says what the link has now
            static = [a for a in link["v4"] if not a["dynamic"]]
            gateways = [r["gateway"] for r in link["routes"] if r["family"] == 4 and r["gateway"]]
            if static:
                config = _config("static", f"{static[0]['address']}/{static[0]['prefixlen']}",
                                          gateways[0] if gateways else "", [], _lowest(link["routes"], 4))
            else:
                config = _config("dhcp", metric=_lowest(link["routes"], 4))
            config.ipv6_metric = _lowest(link["routes"], 6)
        if family == 4:
            config.metric = metric
        else:
            config.ipv6_metric = metric
        self._write_persistent(link["name"], config)

    def _write_persistent(self, name: str, config: PersistentConfig) -> None:
        try:
            self.store.write(name, config)
        except OSError as exc:
            raise DriverError(f"cannot write the persistent configuration of {name}: {exc.strerror}") from exc

    def _write_resolv_conf(self, servers: list[str]) -> None:
        path = Path(self.settings.resolv_conf)
        try:
            old = path.read_text(encoding="utf-8") if path.exists() else ""
            atomic_write(path, render_resolv_conf(old, servers).encode("utf-8"))
        except OSError as exc:
            raise DriverError(f"cannot write {path}: {exc.strerror}") from exc

    # the change window --------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        with self._ipr() as ipr:
            links = self._state(ipr)
        interfaces = {}
        for link in links.values():
            name = link["name"]
            try:
                check_ifname(name)
            except ValueError:
                continue
            interfaces[name] = {
                "ipv4": [[a["address"], a["prefixlen"], a["broadcast"]] for a in link["v4"]],
                "routes": link["routes"],
                "dhcp": self._dhcp(link, self.persistent(name)),
                "file": self.store.read_raw(name),
                "ra_metric": read_int_or_none(self._ra_metric_file(name)),
            }
        snap = {"version": SNAPSHOT_VERSION, "stack": self.store.stack, "interfaces": interfaces,
                "interfaces_file": self.store.read_interfaces_file()}
        if self.store.stack == "none" and self.settings.manage_resolv_conf:
            try:
                snap["resolv_conf"] = Path(self.settings.resolv_conf).read_text(encoding="utf-8")
            except OSError:
                snap["resolv_conf"] = None
        return snap

    def restore_needed(self, name: str, saved: dict) -> bool | None:
        """None when ``name`` is as in ``saved`` (or gone), else whether it runs DHCP now."""
        with self._ipr() as ipr:
            try:
                _, link = self._lookup(ipr, name=check_ifname(name))
            except NotFound:
                log.warning("restore: %s is gone, its configuration is not restored", name)
                return None
        dhcp_now = self._dhcp(link, self.persistent(name))
        same = (_pairs(link["v4"]) == set(_saved_addresses(saved))
                and _route_keys(link["routes"]) == _route_keys(saved["routes"])
                and dhcp_now == saved["dhcp"] and self.store.read_raw(name) == saved["file"]
                and read_int_or_none(self._ra_metric_file(name)) == saved.get("ra_metric"))
        return None if same else dhcp_now

    def restore_interface(self, name: str, saved: dict) -> None:
        """The file, addresses and default routes of ``name`` back as in ``saved``."""
        log.warning("restoring the network configuration of %s", name)
        self.store.write_raw(name, saved["file"])
        with self._ipr() as ipr:
            index, link = self._lookup(ipr, name=name)
            self._set_addresses(ipr, index, link, _saved_addresses(saved))
            for family in (4, 6):
                self._set_routes(ipr, index, family, [r for r in saved["routes"] if r["family"] == family])
        if saved.get("ra_metric") is not None:
            self._write_ra_metric(name, int(saved["ra_metric"]))

    def restore_files(self, snapshot: dict) -> None:
        self.store.write_interfaces_file(snapshot.get("interfaces_file"))
        if snapshot.get("resolv_conf") is not None:
            path = Path(self.settings.resolv_conf)
            if not path.exists() or path.read_text(encoding="utf-8") != snapshot["resolv_conf"]:
                atomic_write(path, snapshot["resolv_conf"].encode("utf-8"))


def _config(*args, **kwargs) -> PersistentConfig:
    """A PersistentConfig; a value no config file may hold is the client's error."""
    try:
        return PersistentConfig(*args, **kwargs)
    except ValueError as exc:
        raise DriverError(f"invalid configuration: {exc}") from None


def _dns_of(index: int, link: dict, persistent: PersistentConfig | None, resolver: dict) -> tuple[list[str], str]:
    """``(servers, search domain)`` of one adapter: resolved's servers for the link, else those of
    its persistent file, else the machine-wide ones when the adapter carries a default route."""
    machine_servers, machine_suffix = resolver[0]
    own_servers, own_suffix = resolver.get(index, ([], ""))
    if own_servers:
        return list(own_servers), own_suffix or machine_suffix
    if persistent is not None and persistent.dns:
        return list(persistent.dns), own_suffix or machine_suffix
    if link["routes"] and machine_servers:
        return list(machine_servers), own_suffix or machine_suffix
    return [], ""


def _dns(config: dict) -> list[str]:
    return [s for s in (config.get("primaryDNS"), config.get("secondaryDNS")) if s]


def _kept_metrics(link: dict, old: PersistentConfig | None) -> tuple[int | None, int | None]:
    """The link's IPv4 and IPv6 default-route metrics now, else what its persistent file says."""
    v4, v6 = _lowest(link["routes"], 4), _lowest(link["routes"], 6)
    if old is not None:
        v4 = old.metric if v4 is None else v4
        v6 = old.ipv6_metric if v6 is None else v6
    return v4, v6


def _saved_addresses(saved: dict) -> dict:
    return {(str(address), int(prefixlen)): str(broadcast) for address, prefixlen, broadcast in saved["ipv4"]}


def _route_keys(routes: list[dict]) -> set[tuple]:
    return {(r["family"], r["gateway"], r["metric"]) for r in routes}


def _add_route(ipr, index: int, route: dict) -> None:
    # "append", not "replace": replace would take over another link's default route that has the same
    # metric; append lets two links share one (the kernel then uses the first)
    ipr.route("append", **_route_spec(index, route), proto=route.get("proto") or RTPROT_STATIC)


def _quiet(call, *args, **kwargs) -> None:
    """A delete that may find the thing already gone (the kernel drops routes with their address)."""
    try:
        call(*args, **kwargs)
    except Exception as exc:  # pyroute2's NetlinkError carries the errno as .code
        if getattr(exc, "code", None) not in (errno.ESRCH, errno.EADDRNOTAVAIL, errno.ENOENT, errno.ENODEV):
            raise


# the driver: NetlinkIO in the threadpool, commands on the event loop ---------------------------------------

class NetlinkNetworkingDriver:
    name = "linux.networking"

    def __init__(self, ctx, settings):
        self.settings = settings
        self.runner = ctx.runner
        self.store = PersistentStore.from_settings(settings)
        # a thread of its own: pyroute2's sockets must never share a thread with others' subprocesses
        self.io = ctx.blocking(NetlinkIO(ctx.paths, settings, self.store), own_thread=True)

    def probe(self) -> bool:
        self.absent_reason = self.io.probe()
        return not self.absent_reason

    def interfaces(self) -> list[dict]:
        return self.io.interfaces()

    # With networkd the client "commands" make networkd read the rewritten file, so they always run;
    # otherwise a DHCP client is stopped only when the adapter was on DHCP, and started only when it
    # was not (a second dhclient would fight the first: dhclient only stops an old one with -r).
    def set_static_ipv4(self, if_index: int, config: dict) -> None:
        name, was_dhcp = self.io.prepare_static(if_index, config)
        if was_dhcp or self.store.stack == "networkd":
            self._client(name, start=False)
        self.io.apply_static(if_index, config)

    def set_dhcp(self, if_index: int) -> None:
        name, was_dhcp = self.io.prepare_dhcp(if_index)
        if not was_dhcp or self.store.stack == "networkd":
            self._client(name, start=True)

    def set_route_metrics(self, metrics: dict[str, int], ipv6: bool) -> None:
        self.io.set_route_metrics(metrics, ipv6)

    def snapshot(self, timeout_seconds: float) -> dict:
        return self.io.snapshot()

    def restore(self, snapshot: dict) -> None:
        if snapshot.get("version") != SNAPSHOT_VERSION or snapshot.get("stack") != self.store.stack:
            raise DriverError("the saved network configuration does not match this driver")
        failed = []
        for name, saved in snapshot["interfaces"].items():
            try:
                dhcp_now = self.io.restore_needed(name, saved)
                if dhcp_now is None:
                    continue
                if dhcp_now and not saved["dhcp"]:
                    self._client(name, start=False)
                self.io.restore_interface(name, saved)
                if saved["dhcp"] and not dhcp_now:
                    self._client(name, start=True)
            except (OSError, ValueError, DriverError) as exc:  # the others are still restored
                log.error("restore of %s failed: %s", name, exc)
                failed.append(name)
        self.io.restore_files(snapshot)
        if failed:
            raise DriverError("could not restore the network configuration of " + ", ".join(failed))

    def release(self, snapshot: dict) -> None:
        """Nothing to disarm: the rollback timer is the daemon's."""

    def _client(self, name: str, start: bool) -> None:
        """Start or stop the DHCP client of ``name``. A stop that fails is logged and ignored (a client
        that does not run cannot be stopped); a start that fails is the client's error."""
        for argv in client_commands(self.settings, self.store.stack, name, start):
            try:
                result = self.runner.run(argv, timeout=self.settings.timeout_seconds)
            except CommandFailed as exc:  # could not start or timed out; the runner has logged it
                if start:
                    raise DriverError(str(exc)) from None
                continue
            if start and not result.ok:
                last = (result.stderr.strip().splitlines() or [""])[-1][:200]
                raise DriverError(f"{argv[0]} failed (exit {result.returncode}): {last}")
            if not result.ok:
                log.info("%s: %s", shlex.join(argv), (result.stderr.strip().splitlines() or [""])[-1][:200])
