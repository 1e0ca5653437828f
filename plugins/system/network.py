"""The device's primary address: the IPv4 address and MAC of the interface carrying the default route
(``<procfs_root>/net/route``), else of the first interface that is up and not loopback."""
from __future__ import annotations

import socket
from pathlib import Path

import psutil


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


def primary_address(route_file: Path) -> tuple[str, str]:
    addresses = psutil.net_if_addrs()
    stats = psutil.net_if_stats()
    order = [default_route_interface(route_file)]
    order += sorted(name for name, st in stats.items() if st.isup and name != "lo")
    for name in order:
        if not name or name not in addresses:
            continue
        ipv4 = next((a.address for a in addresses[name] if a.family == socket.AF_INET), "")
        mac = next((a.address.upper() for a in addresses[name] if a.family == psutil.AF_LINK), "")
        if ipv4:
            return ipv4, mac
    return "", ""
