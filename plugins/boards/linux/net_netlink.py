"""The ``networking`` driver of machines without NetworkManager: the live state read and changed over
rtnetlink (pyroute2), the persistent configuration written by ``net_persist``, the DHCP client started
and stopped as a command. No Flask here.

Reading (every call reads everything afresh: an adapter plugged in later is simply there next time):

* links, their IPv4 then IPv6 addresses (CIDR), MTU, ``operstate`` (``connected`` is "up"), MAC and
  the kernel's 64-bit counters (``IFLA_STATS64``, the ones ``ip -s link`` shows); loopback left out;
* default routes of the main table per family: ``gateway`` lists the gateways through the adapter,
  ``ipv4Metric``/``ipv6Metric`` its lowest default-route metric; ``isDefault`` is the adapter of the
  lowest-metric IPv4 default route;
* ``speed`` from ``<sysfs>/class/net/<if>/speed`` (Mbit/s; -1, 0 or unreadable means unknown and the
  three speed fields are left out); ``type`` from the ARPHRD type plus ``wireless``/``phy80211``/
  ``bridge`` in sysfs (the table in ``plugins/networking/interface.py``); ``description`` from the USB
  device's ``manufacturer``/``product`` strings or the PCI ids looked up in ``pci.ids``, else "";
* ``dns``/``dnssuffix``: the interface's persistent file when it names servers, else ``resolv_conf``'s
  ``nameserver`` lines (and its ``search``/``domain``) for adapters that carry a default route (the
  resolver is machine-wide; per-link servers of systemd-resolved are not read);
* ``dhcpEnabled``: what the interface's persistent file says when portald wrote one; otherwise true
  when an IPv4 address of the adapter is not permanent (no ``IFA_F_PERMANENT`` or a finite valid
  lifetime — DHCP clients add their lease that way; a static address never expires).

Writing: ``set_static_ipv4`` writes the persistent file, stops the DHCP client, flushes the link's
IPv4 addresses, adds the new one (and sets the link up), replaces the link's IPv4 default route by one
through the gateway with the link's previous metric. DNS servers go into the persistent file; the
machine's ``resolv_conf`` is rewritten only with stack ``"none"`` and ``manage_resolv_conf = true``
(its ``search``/``domain``/``options`` lines are kept). ``set_dhcp`` writes the persistent file,
removes the link's permanent IPv4 addresses and starts the DHCP client (the lease comes later).
``set_route_metrics`` adds a copy of each default route of the family with the new metric, then
deletes the old one (a default route exists at every moment), and persists the metric.

The DHCP client: ``dhcp_command``/``dhcp_release_command`` + the interface name when set; otherwise
by stack: ifupdown and "none" run ``dhclient`` with the pid and lease files Debian's ifupdown uses
(``/run/dhclient.<if>.pid``, ``/var/lib/dhcp/dhclient.<if>.leases``), so a later ``ifdown`` finds it;
``-nw`` returns at once (``-r`` releases and stops it); networkd: ``networkctl reload`` then
``networkctl reconfigure <if>`` (networkd's own DHCP client, after the file changed).

Commands run with the standard library's ``subprocess`` (argv, no shell, timeout
``timeout_seconds``), not through ``ctx.runner``: the driver sets ``blocking = True`` (netlink sockets
block), so its methods run in a threadpool thread, where gevent's subprocess cannot start a child. The
daemon leaves ``subprocess`` unpatched for exactly that (see ``portald/cli.py``).

Rollback: ``snapshot()`` is plain data (per interface: IPv4 addresses, default routes of both
families, dhcp or static, DNS, the persistent file's text or its absence; ifupdown's main file and a
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
import subprocess
from contextlib import contextmanager
from pathlib import Path

from portald.drivers import DriverError, NotFound
from portald.state import atomic_write
from portald_plugins.networking.interface import TYPE_IDS

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
    return ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen


def _command_text(argv) -> str:
    return shlex.join(str(a) for a in argv)


# the driver --------------------------------------------------------------------------------------------

class NetlinkNetworkingDriver:
    name = "linux.networking"
    blocking = True

    def __init__(self, ctx, settings):
        self.paths = ctx.paths
        self.settings = settings
        self.store = PersistentStore.from_settings(settings)
        # a set_dhcp/restore may run two commands, each bounded by timeout_seconds
        self.timeout_seconds = 2 * settings.timeout_seconds + 5
        self._ids = None

    def probe(self) -> bool:
        try:
            with self._ipr() as ipr:
                ipr.get_links()
        except OSError as exc:
            log.debug("no rtnetlink: %s", exc)
            return False
        return True

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

    # reading ---------------------------------------------------------------------------------------
    def _state(self, ipr) -> dict:
        """Links, addresses and default routes, indexed by ifindex."""
        links = {}
        for msg in ipr.get_links():
            if msg.get("ifi_type") == ARPHRD_LOOPBACK:
                continue
            links[msg["index"]] = {"msg": msg, "name": msg.get_attr("IFLA_IFNAME"), "v4": [], "v6": [],
                                   "routes": []}
        for msg in ipr.get_addr():
            link = links.get(msg["index"])
            if link is None or msg["family"] not in (socket.AF_INET, socket.AF_INET6):
                continue
            link["v4" if msg["family"] == socket.AF_INET else "v6"].append(msg)
        for family in (socket.AF_INET, socket.AF_INET6):
            for msg in ipr.get_routes(family=family, table=MAIN_TABLE):
                if msg["dst_len"] != 0 or msg.get("type", 1) != 1:
                    continue
                oif = msg.get_attr("RTA_OIF")
                if oif in links:
                    links[oif]["routes"].append(_route_data(msg))
        return links

    def interfaces(self) -> list[dict]:
        with self._ipr() as ipr:
            links = self._state(ipr)
        v4_defaults = [(r["metric"], index) for index, link in links.items() for r in link["routes"]
                       if r["family"] == 4]
        default_index = min(v4_defaults)[1] if v4_defaults else None
        servers, suffix = self._resolv_conf()
        return [self._interface(index, link, index == default_index, servers, suffix)
                for index, link in sorted(links.items())]

    def _interface(self, index: int, link: dict, is_default: bool, servers: list[str], suffix: str) -> dict:
        msg, name = link["msg"], link["name"]
        stats = msg.get_attr("IFLA_STATS64") or msg.get_attr("IFLA_STATS") or {}
        kind = interface_type(msg.get("ifi_type"), self._sysfs(name, "wireless").exists()
                              or self._sysfs(name, "phy80211").exists(), self._sysfs(name, "bridge").exists())
        persistent = self._persistent(name)
        gateways = [r["gateway"] for r in sorted(link["routes"], key=lambda r: r["family"]) if r["gateway"]]
        if persistent is not None and persistent.dns:
            dns = list(persistent.dns)
        else:
            dns = list(servers) if link["routes"] else []
        found = {
            "ifIndex": index,
            "uuid": name,
            "name": name,
            "description": self._description(name),
            "type": kind,
            "typeId": TYPE_IDS[kind],
            "mtu": msg.get_attr("IFLA_MTU") or 0,
            "connected": msg.get_attr("IFLA_OPERSTATE") == "UP",
            "isDefault": is_default,
            "dhcpEnabled": (persistent.method == "dhcp" if persistent is not None
                            else any(is_dynamic(a) for a in link["v4"])),
            "hardwareAddress": (msg.get_attr("IFLA_ADDRESS") or "").lower(),
            "addresses": [f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}" for a in link["v4"] + link["v6"]],
            "gateway": gateways,
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
            metrics = [r["metric"] for r in link["routes"] if r["family"] == family]
            if metrics:
                found[key] = min(metrics)
        return found

    def _sysfs(self, name: str, *parts: str) -> Path:
        return self.paths.sysfs("class", "net", name, *parts)

    def _description(self, name: str) -> str:
        device = self._sysfs(name, "device")
        subsystem = device / "subsystem"
        try:
            kind = os.path.basename(os.readlink(subsystem))
        except OSError:
            return ""
        if kind == "usb":  # device is the USB interface; its parent is the USB device
            words = [read_attr_or_none(device / ".." / f) for f in ("manufacturer", "product")]
            return " ".join(w for w in words if w)
        if kind == "pci":
            vendor, model = (read_attr_or_none(device / f) for f in ("vendor", "device"))
            if not vendor or not model:
                return ""
            if self._ids is None:
                from .devmgr_names import IdsDatabase

                self._ids = IdsDatabase(host_paths.IDS_DIRS)
            names = self._ids.lookup("pci", vendor.removeprefix("0x"), model.removeprefix("0x"))
            return " ".join(n for n in names if n)
        return ""

    def _persistent(self, name: str) -> PersistentConfig | None:
        try:
            return self.store.read(name)
        except ValueError:  # a name our files could not have been written for
            return None
        except OSError as exc:
            log.warning("cannot read the persistent config of %s: %s", name, exc)
            return None

    def _resolv_conf(self) -> tuple[list[str], str]:
        try:
            return parse_resolv_conf(Path(self.settings.resolv_conf).read_text(encoding="utf-8",
                                                                                errors="replace"))
        except OSError:
            return [], ""

    # writing ---------------------------------------------------------------------------------------
    def _link(self, ipr, *, index: int | None = None, name: str | None = None) -> tuple[int, str]:
        links = ipr.get_links(index) if index is not None else ipr.get_links(ifname=name)
        try:
            msg = links[0]
        except IndexError:
            raise NotFound(f"no network interface {index if index is not None else name}") from None
        return msg["index"], msg.get_attr("IFLA_IFNAME")

    def _lookup(self, ipr, **key) -> tuple[int, str]:
        try:
            index, name = self._link(ipr, **key)
        except Exception as exc:  # pyroute2's NetlinkError (ENODEV for an unknown index)
            if getattr(exc, "code", None) in (errno.ENODEV, errno.ENOENT, errno.EINVAL):
                raise NotFound(f"no network interface {next(iter(key.values()))}") from None
            raise
        if name is None or self._is_loopback(ipr, index):
            raise NotFound(f"no network interface {next(iter(key.values()))}")
        check_ifname(name)
        return index, name

    @staticmethod
    def _is_loopback(ipr, index: int) -> bool:
        return ipr.get_links(index)[0].get("ifi_type") == ARPHRD_LOOPBACK

    def set_static_ipv4(self, if_index: int, config: dict) -> None:
        prefix = prefix_of(config["subnetMask"])
        address = config["ipAddress"]
        gateway = config.get("defaultGateway") or ""
        dns = [s for s in (config.get("primaryDNS"), config.get("secondaryDNS")) if s]
        with self._ipr() as ipr:
            index, name = self._lookup(ipr, index=if_index)
            link = self._state(ipr)[index]
            metric = _lowest(link["routes"], 4)
            old = self._persistent(name)
            if metric is None and old is not None:
                metric = old.metric
            self._write_persistent(name, PersistentConfig("static", f"{address}/{prefix}", gateway, dns,
                                                          metric, _lowest(link["routes"], 6)
                                                          if old is None else old.ipv6_metric))
            self._run_release(name)
            self._apply_static(ipr, index, [(address, prefix)], gateway, metric, link)
        if self.store.stack == "none" and self.settings.manage_resolv_conf and dns:
            self._write_resolv_conf(dns)
        log.info("%s: static %s/%d, gateway %s", name, address, prefix, gateway or "none")

    def _apply_static(self, ipr, index: int, addresses: list[tuple[str, int]], gateway: str,
                      metric: int | None, link: dict) -> None:
        """The link's IPv4 addresses become ``addresses`` and its IPv4 default route goes through
        ``gateway`` (none when "")."""
        wanted = {(a, p) for a, p in addresses}
        current = {(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in link["v4"]}
        for addr, prefixlen in current - wanted:
            self._quiet(ipr.addr, "del", index=index, address=addr, prefixlen=prefixlen)
        for addr, prefixlen in addresses:
            if (addr, prefixlen) not in current:
                ipr.addr("add", index=index, address=addr, prefixlen=prefixlen,
                         broadcast=str(ipaddress.IPv4Interface(f"{addr}/{prefixlen}").network.broadcast_address)
                         if prefixlen < 31 else None)
        ipr.link("set", index=index, state="up")
        routes = [{"family": 4, "gateway": gateway, "metric": metric or 0}] if gateway else []
        self._apply_routes(ipr, index, 4, routes)

    def _apply_routes(self, ipr, index: int, family: int, wanted: list[dict]) -> None:
        """The link's default routes of ``family`` (4 or 6) become ``wanted`` (gateway, metric):
        missing ones are added before the others are removed."""
        current = [r for r in self._routes_of(ipr, index) if r["family"] == family]
        key = lambda r: (r["gateway"], r["metric"])  # noqa: E731
        have = {key(r) for r in current}
        for route in wanted:
            if key(route) not in have:
                self._add_route(ipr, index, route)
        keep = {key(r) for r in wanted}
        for route in current:
            if key(route) not in keep:
                self._quiet(ipr.route, "del", **_route_spec(index, route))

    @staticmethod
    def _add_route(ipr, index: int, route: dict) -> None:
        # "append", not "replace": replace would take over another link's default route that has the
        # same metric; append lets two links share one (the kernel then uses the first)
        ipr.route("append", **_route_spec(index, route), proto=route.get("proto") or RTPROT_STATIC)

    def _routes_of(self, ipr, index: int) -> list[dict]:
        routes = []
        for family in (socket.AF_INET, socket.AF_INET6):
            for msg in ipr.get_routes(family=family, table=MAIN_TABLE, oif=index):
                if msg["dst_len"] == 0 and msg.get("type", 1) == 1 and msg.get_attr("RTA_OIF") == index:
                    routes.append(_route_data(msg))
        return routes

    @staticmethod
    def _quiet(call, *args, **kwargs) -> None:
        """A delete that may find the thing already gone (the kernel drops routes with their address)."""
        try:
            call(*args, **kwargs)
        except Exception as exc:  # pyroute2's NetlinkError carries the errno as .code
            if getattr(exc, "code", None) not in (errno.ESRCH, errno.EADDRNOTAVAIL, errno.ENOENT, errno.ENODEV):
                raise

    def set_dhcp(self, if_index: int) -> None:
        with self._ipr() as ipr:
            index, name = self._lookup(ipr, index=if_index)
            link = self._state(ipr)[index]
            old = self._persistent(name)
            metric = _lowest(link["routes"], 4)
            if metric is None and old is not None:
                metric = old.metric
            self._write_persistent(name, PersistentConfig(
                "dhcp", metric=metric, ipv6_metric=old.ipv6_metric if old is not None else _lowest(link["routes"], 6)))
            for msg in link["v4"]:
                if not is_dynamic(msg):
                    self._quiet(ipr.addr, "del", index=index, address=msg.get_attr("IFA_ADDRESS"),
                                prefixlen=msg["prefixlen"])
            ipr.link("set", index=index, state="up")
        self._run_start(name)
        log.info("%s: DHCP", name)

    def set_route_metrics(self, metrics: dict[str, int], ipv6: bool) -> None:
        family = 6 if ipv6 else 4
        with self._ipr() as ipr:
            found = [(self._lookup(ipr, name=str(uuid)), int(metric)) for uuid, metric in metrics.items()]
            for (index, name), metric in found:
                routes = [r for r in self._routes_of(ipr, index) if r["family"] == family]
                for route in routes:
                    if route["metric"] != metric:
                        self._add_route(ipr, index, {**route, "metric": metric})
                        self._quiet(ipr.route, "del", **_route_spec(index, route))
                self._persist_metric(ipr, index, name, family, metric)
        log.info("route metrics (IPv%d): %s", family, ", ".join(f"{n}={m}" for (_, n), m in found))

    def _persist_metric(self, ipr, index: int, name: str, family: int, metric: int) -> None:
        if self.store.stack == "none":
            return
        config = self._persistent(name)
        if config is None:  # no file of ours yet: one that says what the link has now
            link = self._state(ipr)[index]
            static = [a for a in link["v4"] if not is_dynamic(a)]
            if static:
                gateways = [r["gateway"] for r in link["routes"] if r["family"] == 4 and r["gateway"]]
                config = PersistentConfig("static", f"{static[0].get_attr('IFA_ADDRESS')}/{static[0]['prefixlen']}",
                                          gateways[0] if gateways else "", [], _lowest(link["routes"], 4))
            else:
                config = PersistentConfig("dhcp", metric=_lowest(link["routes"], 4))
            config.ipv6_metric = _lowest(link["routes"], 6)
        if family == 4:
            config.metric = metric
        else:
            config.ipv6_metric = metric
        self._write_persistent(name, config)

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

    # the DHCP client --------------------------------------------------------------------------------
    def _client_commands(self, name: str, start: bool) -> list[list[str]]:
        """The commands that start (or, ``start`` false, stop) the DHCP client of ``name``."""
        configured = self.settings.dhcp_command if start else self.settings.dhcp_release_command
        if configured:
            return [[*configured, name]]
        if self.store.stack == "networkd":  # networkd's own client follows the rewritten file
            return [["networkctl", "reload"], ["networkctl", "reconfigure", name]]
        return [["dhclient", "-4", "-nw" if start else "-r", "-pf", DHCLIENT_PID.format(name),
                 "-lf", DHCLIENT_LEASES.format(name), name]]

    def _run_release(self, name: str) -> None:
        # a client that is not running is fine: dhclient -r then just says so
        for argv in self._client_commands(name, start=False):
            self._run(argv, must_succeed=False)

    def _run_start(self, name: str) -> None:
        for argv in self._client_commands(name, start=True):
            self._run(argv, must_succeed=True)

    def _run(self, argv: list[str], must_succeed: bool) -> None:
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, errors="replace", timeout=self.settings.timeout_seconds)
        except subprocess.TimeoutExpired:
            log.warning("%s timed out after %g s", _command_text(argv), self.settings.timeout_seconds)
            raise DriverError(f"{argv[0]} did not finish within {self.settings.timeout_seconds:g} s") from None
        except OSError as exc:
            log.warning("cannot run %s: %s", _command_text(argv), exc.strerror)
            if must_succeed:
                raise DriverError(f"cannot run {argv[0]}: {exc.strerror}") from exc
            return
        if done.returncode == 0:
            log.debug("%s exited 0", _command_text(argv))
            return
        last = (done.stderr.strip().splitlines() or [""])[-1][:200]
        log.info("%s exited %d: %s", _command_text(argv), done.returncode, last)
        if must_succeed:
            raise DriverError(f"{argv[0]} failed (exit {done.returncode}): {last}")

    # the change window --------------------------------------------------------------------------------
    def snapshot(self, timeout_seconds: float) -> dict:
        with self._ipr() as ipr:
            links = self._state(ipr)
        interfaces = {}
        for link in links.values():
            name = link["name"]
            try:
                check_ifname(name)
            except ValueError:
                continue
            persistent = self._persistent(name)
            interfaces[name] = {
                "ipv4": [[a.get_attr("IFA_ADDRESS"), a["prefixlen"]] for a in link["v4"]],
                "routes": [{k: r[k] for k in ("family", "gateway", "metric", "proto")} for r in link["routes"]],
                "dhcp": (persistent.method == "dhcp" if persistent is not None
                         else any(is_dynamic(a) for a in link["v4"])),
                "file": self.store.read_raw(name),
            }
        snap = {"version": SNAPSHOT_VERSION, "stack": self.store.stack, "interfaces": interfaces,
                "interfaces_file": self.store.read_interfaces_file()}
        if self.store.stack == "none" and self.settings.manage_resolv_conf:
            try:
                snap["resolv_conf"] = Path(self.settings.resolv_conf).read_text(encoding="utf-8")
            except OSError:
                snap["resolv_conf"] = None
        return snap

    def restore(self, snapshot: dict) -> None:
        if snapshot.get("version") != SNAPSHOT_VERSION or snapshot.get("stack") != self.store.stack:
            raise DriverError("the saved network configuration does not match this driver")
        failures = []
        with self._ipr() as ipr:
            for name, saved in snapshot["interfaces"].items():
                try:
                    self._restore_interface(ipr, name, saved)
                except NotFound:
                    log.warning("restore: %s is gone, its configuration is not restored", name)
                except (OSError, DriverError, ValueError) as exc:
                    log.error("restore of %s failed: %s", name, exc)
                    failures.append(name)
                except Exception as exc:  # pyroute2's NetlinkError
                    log.error("restore of %s failed: %s", name, exc)
                    failures.append(name)
        self.store.write_interfaces_file(snapshot.get("interfaces_file"))
        if "resolv_conf" in snapshot and snapshot["resolv_conf"] is not None:
            path = Path(self.settings.resolv_conf)
            if not path.exists() or path.read_text(encoding="utf-8") != snapshot["resolv_conf"]:
                atomic_write(path, snapshot["resolv_conf"].encode("utf-8"))
        if failures:
            raise DriverError("could not restore the network configuration of " + ", ".join(failures))

    def _restore_interface(self, ipr, name: str, saved: dict) -> None:
        index, name = self._lookup(ipr, name=check_ifname(name))
        link = self._state(ipr)[index]
        persistent = self._persistent(name)
        dhcp_now = (persistent.method == "dhcp" if persistent is not None
                    else any(is_dynamic(a) for a in link["v4"]))
        addresses = [(a, int(p)) for a, p in saved["ipv4"]]
        current = {(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in link["v4"]}
        routes = [r for r in saved["routes"]]
        route_keys = {(r["family"], r["gateway"], r["metric"]) for r in routes}
        current_routes = {(r["family"], r["gateway"], r["metric"]) for r in link["routes"]}
        unchanged = (set(addresses) == current and route_keys == current_routes and dhcp_now == saved["dhcp"]
                     and self.store.read_raw(name) == saved["file"])
        if unchanged:
            return
        log.warning("restoring the network configuration of %s", name)
        if dhcp_now and not saved["dhcp"]:
            self._run_release(name)
        self.store.write_raw(name, saved["file"])
        self._apply_static_state(ipr, index, addresses)
        for family in (4, 6):
            self._apply_routes(ipr, index, family, [r for r in routes if r["family"] == family])
        if saved["dhcp"] and not dhcp_now:
            self._run_start(name)

    def _apply_static_state(self, ipr, index: int, addresses: list[tuple[str, int]]) -> None:
        link = self._state(ipr)[index]
        current = {(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in link["v4"]}
        for addr, prefixlen in addresses:
            if (addr, prefixlen) not in current:
                ipr.addr("add", index=index, address=addr, prefixlen=prefixlen)
        for addr, prefixlen in current - set(addresses):
            self._quiet(ipr.addr, "del", index=index, address=addr, prefixlen=prefixlen)
        ipr.link("set", index=index, state="up")

    def release(self, snapshot: dict) -> None:
        """Nothing to disarm: the rollback timer is the daemon's."""


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
