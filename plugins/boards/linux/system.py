"""The ``system`` driver of the generic Linux board: the running OS and the device's primary address.

The OS: the kernel's name, release and architecture from ``<procfs_root>/sys/kernel/{ostype,osrelease,
arch}`` (``arch`` since Linux 6.1), each falling back to ``uname(2)`` of the running kernel where the file
is missing; the distribution's ``PRETTY_NAME`` from os-release(5) (the first of
``[plugins.linux.system] os_release_files`` that exists, as systemd reads it).

The primary address: the interface carrying the default route in ``<procfs_root>/net/route`` (the lowest
metric wins), else the first interface that is up and not loopback; its IPv4 address and MAC come from
the kernel's live interface list (psutil's getifaddrs: no root applies). The fallback's interfaces are
those of ``<procfs_root>/net/dev``, each asked the live kernel whether it is up.
"""
from __future__ import annotations

import os
import shlex
import socket
from pathlib import Path

import psutil
from pydantic import Field

from portald.settings import Settings as _Settings

from . import host_paths
from .sysfs import read_attr_or_none

CAPABILITY = "system"


class Settings(_Settings):
    """``[plugins.linux.system]``."""

    os_release_files: list[str] = Field(default_factory=lambda: list(host_paths.OS_RELEASE_FILES), min_length=1)


def parse_os_release(text: str) -> dict[str, str]:
    """os-release(5): ``KEY=value`` lines, values shell-quoted; comments and bad lines are skipped."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not key or key.startswith("#"):
            continue
        try:
            words = shlex.split(value)
        except ValueError:  # an unbalanced quote
            continue
        fields[key] = " ".join(words)
    return fields


def default_route_interface(route_file: Path) -> str | None:
    try:
        lines = route_file.read_text().splitlines()[1:]
    except OSError:
        return None
    best = None
    for line in lines:
        fields = line.split()
        # Iface Destination Gateway Flags RefCnt Use Metric Mask ...; destination 0 = default route
        if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000":
            metric = int(fields[6]) if fields[6].isdigit() else 0
            if best is None or metric < best[0]:
                best = (metric, fields[0])
    return best[1] if best else None


class LinuxSystemDriver:
    name = "linux.system"

    def __init__(self, procfs_root: str | Path, os_release_files: list[str]):
        self.route_file = Path(procfs_root, "net", "route")
        self.kernel = Path(procfs_root, "sys", "kernel")
        self.os_release_files = [Path(f) for f in os_release_files]
        self._pretty_name: str | None = None

    def probe(self) -> bool:
        return True

    def pretty_name(self) -> str:
        if self._pretty_name is None:  # the distribution does not change while the daemon runs
            self._pretty_name = ""
            for path in self.os_release_files:
                try:
                    text = path.read_text(errors="replace")
                except OSError:
                    continue
                self._pretty_name = parse_os_release(text).get("PRETTY_NAME", "")
                break
        return self._pretty_name

    def os(self) -> dict[str, str]:
        kernel = os.uname()

        def sysctl(name: str, fallback: str) -> str:
            return read_attr_or_none(self.kernel / name) or fallback

        return {"name": sysctl("ostype", kernel.sysname).lower(), "arch": sysctl("arch", kernel.machine),
                "release": sysctl("osrelease", kernel.release), "pretty_name": self.pretty_name()}

    def primary_address(self) -> tuple[str, str]:
        addresses = psutil.net_if_addrs()
        for name in self._candidates():
            if not name or name not in addresses:
                continue
            ipv4 = next((a.address for a in addresses[name] if a.family == socket.AF_INET), "")
            mac = next((a.address.upper() for a in addresses[name] if a.family == psutil.AF_LINK), "")
            if ipv4:
                return ipv4, mac
        return "", ""

    def _candidates(self):
        yield default_route_interface(self.route_file)
        try:
            # psutil lists the interfaces of <procfs_root>/net/dev and asks the live kernel for their flags
            stats = psutil.net_if_stats()
        except OSError:
            return
        yield from sorted(name for name, st in stats.items() if st.isup and name != "lo")


def create_driver(ctx, settings: Settings):
    return LinuxSystemDriver(ctx.paths.procfs_root, settings.os_release_files)
