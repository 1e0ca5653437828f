"""The MAC address a device registers with: that of the interface carrying the IPv4 default route.

Read from ``<procfs>/net/route`` (the default route with the lowest metric) and
``<sysfs>/class/net/<interface>/address`` under the configured roots. It is two small file reads with no
hardware behind them, so the plugin reads them itself rather than through a board driver (the sim
board's roots point at fixture trees, where the same code finds the tree's interface or none).
"""
from __future__ import annotations

import re

MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def default_route_interface(route_table: str) -> str | None:
    best: tuple[int, str] | None = None
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8 or fields[1] != "00000000" or fields[7] != "00000000":
            continue
        try:
            flags, metric = int(fields[3], 16), int(fields[6])
        except ValueError:
            continue
        if flags & 0x1 and (best is None or metric < best[0]):  # RTF_UP
            best = (metric, fields[0])
    return best[1] if best else None


def mac_address(paths) -> str | None:
    """``"AA:BB:CC:DD:EE:FF"``, or None when there is no default route or it has no usable MAC."""
    try:
        interface = default_route_interface(paths.procfs("net", "route").read_text())
        if interface is None or "/" in interface:
            return None
        mac = paths.sysfs("class", "net", interface, "address").read_text().strip().lower()
    except (OSError, UnicodeDecodeError):
        return None
    if not MAC.match(mac) or mac == "00:00:00:00:00:00":
        return None
    return mac.upper()
