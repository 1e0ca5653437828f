"""The persistent IPv4 configuration the netlink networking driver writes, so a change survives a
reboot: one file per interface in the folder of the stack the machine uses, and reading back what it
wrote. No netlink here (``net_netlink`` applies the live state).

Which stack (``[plugins.linux.networking] stack``): ``"auto"`` picks ifupdown when
``ifupdown_interfaces_file`` (``/etc/network/interfaces``) exists, else systemd-networkd when
``networkd_dir`` (``/etc/systemd/network``) exists, else ``"none"`` (nothing is persisted; the live
change is all there is, and a reboot brings back whatever the machine's own config says).

What is written where (``<if>`` is the interface name; every file is replaced atomically):

* ifupdown: ``<ifupdown_dir>/portald-<if>`` (``/etc/network/interfaces.d``), one stanza::

      allow-hotplug <if>
      iface <if> inet static          |  iface <if> inet dhcp
          address 192.168.1.10        |      metric 100
          netmask 255.255.255.0
          gateway 192.168.1.1
          metric 100
          dns-nameservers 1.1.1.1 8.8.8.8

  ``metric`` is the IPv4 default route's metric (ifupdown passes it to its DHCP client as
  ``IF_METRIC``); ``dns-nameservers`` is read by the ``resolvconf`` package when installed (without it
  ifupdown ignores the line). ifupdown reads the folder only when ``interfaces`` has ``source
  /etc/network/interfaces.d/*`` (Debian's default) or ``source-directory``, and refuses two stanzas
  for one interface: a stanza for ``<if>`` still in ``interfaces`` (the Debian installer writes one
  for the install-time NIC) is turned into comments (``#portald# `` prefix) when the first file for
  ``<if>`` is written. IPv6 metrics are not persisted with ifupdown (it has no key for an RA route's
  metric).
* systemd-networkd: ``<networkd_dir>/10-portald-<if>.network``::

      [Match]                      [Match]
      Name=<if>                    Name=<if>
      [Network]                    [Network]
      Address=192.168.1.10/24      DHCP=ipv4
      DNS=1.1.1.1                  [DHCPv4]
      [Route]                      RouteMetric=100
      Gateway=192.168.1.1          [IPv6AcceptRA]
      Metric=100                   RouteMetric=200
      [IPv6AcceptRA]
      RouteMetric=200

  networkd uses the first ``.network`` file (in lexical order, over ``/etc``, ``/run`` and
  ``/usr/lib/systemd/network`` together) that matches a link: a file sorting before ``10-portald-``
  that matches ``<if>`` wins over this one — netplan's ``/run/systemd/network/10-netplan-<if>.network``
  on Ubuntu does, so there the live change works but the file is not used at the next boot.

Every file starts with a comment saying portald wrote it. Interface names are checked against the
kernel's rules (1 to 15 bytes, no ``/``, no whitespace or ``:``, not ``.`` or ``..``) before they become
part of a path or of a config line, so a name cannot escape the folder or inject a line.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from portald.state import atomic_write

log = logging.getLogger("portald.plugins.networking")

HEADER = "# Written by portald (the networking API); replaced by the next change made through it.\n"
COMMENTED = "#portald# "
IFNAMSIZ = 16  # the kernel's limit, terminating NUL included


def check_ifname(name: str) -> str:
    """``name`` when the kernel could accept it as an interface name (dev_valid_name()), else
    ``ValueError``. ``:`` is refused too: it is ifupdown's alias syntax."""
    if not isinstance(name, str) or not name or len(name.encode("utf-8", "surrogateescape")) >= IFNAMSIZ:
        raise ValueError(f"invalid interface name {name!r}: 1 to 15 bytes")
    if name in (".", "..") or "/" in name or ":" in name or "\x00" in name or any(c.isspace() for c in name):
        raise ValueError(f"invalid interface name {name!r}")
    if not name.isprintable():
        raise ValueError(f"invalid interface name {name!r}")
    return name


@dataclass
class PersistentConfig:
    """The IPv4 configuration of one interface as its persistent file says it."""

    method: str  # "static" or "dhcp"
    address: str = ""  # CIDR "192.168.1.10/24" when static
    gateway: str = ""
    dns: list[str] = field(default_factory=list)
    metric: int | None = None  # IPv4 default route
    ipv6_metric: int | None = None  # IPv6 (networkd only)

    def __post_init__(self):
        if self.method not in ("static", "dhcp"):
            raise ValueError(f"unknown method {self.method!r}")
        # every value ends up in a config line: only well-formed addresses and numbers get there
        if self.method == "static":
            ipaddress.IPv4Interface(self.address)
        if self.gateway:
            ipaddress.IPv4Address(self.gateway)
        for server in self.dns:
            ipaddress.ip_address(server)
        for metric in (self.metric, self.ipv6_metric):
            if metric is not None and not (isinstance(metric, int) and 0 <= metric <= 0xFFFFFFFF):
                raise ValueError(f"invalid metric {metric!r}")


def detect_stack(settings) -> str:
    if settings.stack != "auto":
        return settings.stack
    if os.path.exists(settings.ifupdown_interfaces_file):
        return "ifupdown"
    if os.path.isdir(settings.networkd_dir):
        return "networkd"
    return "none"


# rendering ---------------------------------------------------------------------------------------------

def render_ifupdown(ifname: str, config: PersistentConfig) -> str:
    check_ifname(ifname)
    lines = [HEADER.rstrip("\n"), f"allow-hotplug {ifname}", f"iface {ifname} inet {config.method}"]
    if config.method == "static":
        interface = ipaddress.IPv4Interface(config.address)
        lines += [f"    address {interface.ip}", f"    netmask {interface.netmask}"]
        if config.gateway:
            lines.append(f"    gateway {config.gateway}")
    if config.metric is not None:
        lines.append(f"    metric {config.metric}")
    if config.dns:
        lines.append("    dns-nameservers " + " ".join(config.dns))
    return "\n".join(lines) + "\n"


def render_networkd(ifname: str, config: PersistentConfig) -> str:
    check_ifname(ifname)
    lines = [HEADER.rstrip("\n"), "[Match]", f"Name={ifname}", "", "[Network]"]
    if config.method == "static":
        lines.append(f"Address={config.address}")
    else:
        lines.append("DHCP=ipv4")
    lines += [f"DNS={server}" for server in config.dns]
    if config.method == "static" and config.gateway:
        lines += ["", "[Route]", f"Gateway={config.gateway}"]
        if config.metric is not None:
            lines.append(f"Metric={config.metric}")
    if config.method == "dhcp" and config.metric is not None:
        lines += ["", "[DHCPv4]", f"RouteMetric={config.metric}"]
    if config.ipv6_metric is not None:
        lines += ["", "[IPv6AcceptRA]", f"RouteMetric={config.ipv6_metric}"]
    return "\n".join(lines) + "\n"


# parsing back (only the files rendered above; anything else is "not ours") -------------------------------

def _int_or_none(text: str) -> int | None:
    """A metric as written in our files (decimal digits), else None."""
    return int(text) if text.isascii() and text.isdigit() else None


def parse_ifupdown(text: str) -> PersistentConfig | None:
    method, values = None, {}
    for raw in text.splitlines():
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "iface" and len(words) >= 4 and words[2] == "inet":
            method = words[3]
        elif method is not None:
            values[words[0]] = words[1:]
    if method not in ("static", "dhcp"):
        return None
    try:
        address = ""
        if method == "static":
            netmask = (values.get("netmask") or [""])[0]
            address = str(ipaddress.IPv4Interface(f"{values['address'][0]}/{netmask}" if netmask
                                                  else values["address"][0]))
        return PersistentConfig(method, address, (values.get("gateway") or [""])[0],
                                list(values.get("dns-nameservers", [])),
                                _int_or_none((values.get("metric") or [""])[0]))
    except (KeyError, ValueError, IndexError):
        return None


def parse_networkd(text: str) -> PersistentConfig | None:
    section, found = "", {"dns": []}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if section == "Network" and key == "DHCP":
            found["dhcp"] = value in ("ipv4", "yes", "true")
        elif section == "Network" and key == "Address":
            found["address"] = value
        elif section == "Network" and key == "DNS":
            found["dns"] += value.split()
        elif section in ("Network", "Route") and key == "Gateway":
            found["gateway"] = value
        elif (section, key) in (("Route", "Metric"), ("DHCPv4", "RouteMetric")):
            found["metric"] = _int_or_none(value)
        elif (section, key) == ("IPv6AcceptRA", "RouteMetric"):
            found["ipv6_metric"] = _int_or_none(value)
    method = "dhcp" if found.get("dhcp") else "static" if "address" in found else None
    if method is None:
        return None
    try:
        return PersistentConfig(method, found.get("address", "") if method == "static" else "",
                                found.get("gateway", ""), found["dns"], found.get("metric"),
                                found.get("ipv6_metric"))
    except ValueError:
        return None


# the files ------------------------------------------------------------------------------------------

class PersistentStore:
    """Reads and writes the files of one stack (``"ifupdown"``, ``"networkd"`` or ``"none"``)."""

    def __init__(self, stack: str, ifupdown_dir: str, ifupdown_interfaces_file: str, networkd_dir: str):
        if stack not in ("ifupdown", "networkd", "none"):
            raise ValueError(f"unknown stack {stack!r}")
        self.stack = stack
        self.ifupdown_dir, self.networkd_dir = Path(ifupdown_dir), Path(networkd_dir)
        self.interfaces_file = Path(ifupdown_interfaces_file)

    @classmethod
    def from_settings(cls, settings) -> "PersistentStore":
        return cls(detect_stack(settings), settings.ifupdown_dir, settings.ifupdown_interfaces_file,
                   settings.networkd_dir)

    def path(self, ifname: str) -> Path | None:
        check_ifname(ifname)
        if self.stack == "ifupdown":
            return self.ifupdown_dir / f"portald-{ifname}"
        if self.stack == "networkd":
            return self.networkd_dir / f"10-portald-{ifname}.network"
        return None

    def read_raw(self, ifname: str) -> str | None:
        """The file's text, None when there is none (or the stack is "none")."""
        path = self.path(ifname)
        if path is None:
            return None
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def read(self, ifname: str) -> PersistentConfig | None:
        text = self.read_raw(ifname)
        if text is None:
            return None
        return (parse_ifupdown if self.stack == "ifupdown" else parse_networkd)(text)

    def write(self, ifname: str, config: PersistentConfig) -> None:
        path = self.path(ifname)
        if path is None:
            return
        if self.stack == "ifupdown":
            self._comment_out_main_stanza(ifname)
            text = render_ifupdown(ifname, config)
        else:
            text = render_networkd(ifname, config)
        atomic_write(path, text.encode("utf-8"))
        log.info("wrote %s (%s)", path, config.method)

    def write_raw(self, ifname: str, text: str | None) -> None:
        """Put back what ``read_raw`` returned: the text, or no file at all."""
        path = self.path(ifname)
        if path is None:
            return
        if text is None:
            try:
                path.unlink()
                log.info("removed %s", path)
            except FileNotFoundError:
                pass
        elif self.read_raw(ifname) != text:
            atomic_write(path, text.encode("utf-8"))
            log.info("restored %s", path)

    # ifupdown's main file -------------------------------------------------------------------------------
    def read_interfaces_file(self) -> str | None:
        if self.stack != "ifupdown":
            return None
        try:
            return self.interfaces_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write_interfaces_file(self, text: str | None) -> None:
        if self.stack != "ifupdown" or text is None or self.read_interfaces_file() == text:
            return
        atomic_write(self.interfaces_file, text.encode("utf-8"))
        log.info("restored %s", self.interfaces_file)

    def _comment_out_main_stanza(self, ifname: str) -> None:
        text = self.read_interfaces_file()
        if text is None:
            return
        changed = comment_out_stanza(text, ifname)
        if changed != text:
            atomic_write(self.interfaces_file, changed.encode("utf-8"))
            log.warning("%s: the stanza for %s is now commented out (%s); portald's file %s replaces it",
                        self.interfaces_file, ifname, COMMENTED.strip(), self.path(ifname))
        if not re.search(r"^\s*source(-directory)?\s", changed, re.MULTILINE):
            log.warning("%s has no source line: ifupdown will not read %s", self.interfaces_file,
                        self.ifupdown_dir)


_STANZA_STARTS = ("iface", "mapping", "auto", "allow-", "source", "source-directory", "no-auto-down",
                  "no-scripts", "rename")


def comment_out_stanza(text: str, ifname: str) -> str:
    """``text`` (an ``interfaces(5)`` file) with the ``iface <ifname> ...`` stanzas (the line and its
    option lines) and ``auto``/``allow-*`` lines naming only ``ifname`` turned into comments; other
    interfaces named on a shared ``auto`` line stay, without ``ifname``."""
    out, inside = [], False
    for line in text.splitlines(keepends=True):
        words = line.split()
        first = words[0] if words else ""
        if first.startswith(_STANZA_STARTS):
            inside = False
            if first == "iface" and len(words) >= 2 and words[1] == ifname:
                inside = True
            elif (first == "auto" or first.startswith("allow-")) and ifname in words[1:]:
                rest = [w for w in words[1:] if w != ifname]
                out.append(COMMENTED + line)
                if rest:
                    out.append(" ".join([first, *rest]) + "\n")
                continue
        if inside and words and not first.startswith("#"):
            out.append(COMMENTED + line)
        else:
            out.append(line)
    return "".join(out)
