"""Human names for device ids: the hwdata databases (``pci.ids``, ``usb.ids``) and the generic ACPI ids.

``pci.ids`` and ``usb.ids`` (Debian package ``hwdata``: ``/usr/share/hwdata``; older layouts and
``pciutils``/``usbutils``: ``/usr/share/misc``) share one format::

    # comment
    8086  Intel Corporation                   vendor: 4 hex digits, two spaces, name
    <TAB>9d15  Sunrise Point-LP PCI Express..  device of the vendor above
    <TAB><TAB>8086 7270  ...                   subsystem (ignored)
    C 06  Bridge                               other sections (device classes; usb.ids also has
    <TAB>04  PCI bridge                        AT, HID, L, ...): a line that does not start with
                                               a vendor id ends the vendor list

The files are large (pci.ids ~1.3 MB, ~40,000 lines), so each one is parsed on its first lookup and
kept for the daemon run (the plugin holds one ``IdsDatabase`` per run through ``ctx.memo``).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger("portald.plugins.devmgr")

# Where distributions install the databases; ``[plugins.linux.devmgr] ids_dir`` replaces this list.
from .host_paths import IDS_DIRS as DEFAULT_IDS_DIRS  # noqa: E402 (the defaults of every host path sit there)

# ACPI/PnP ids have no database on Linux (hwdata's pnp.ids holds monitor vendors, not these). These
# are the generic ids of the PnP and ACPI specifications and Linux's own LNX* ids, named as Windows
# names them (the spec's example: PNP0000 "Programmable interrupt controller").
ACPI_NAMES = {
    "PNP0000": "Programmable interrupt controller",
    "PNP0100": "System timer",
    "PNP0103": "High precision event timer",
    "PNP0200": "Direct memory access controller",
    "PNP0303": "Standard PS/2 keyboard",
    "PNP0400": "Printer port",
    "PNP0501": "Communications port",
    "PNP0800": "System speaker",
    "PNP0A03": "PCI bus",
    "PNP0A08": "PCI Express root complex",
    "PNP0B00": "System CMOS/real time clock",
    "PNP0C01": "System board",
    "PNP0C02": "Motherboard resources",
    "PNP0C04": "Numeric data processor",
    "PNP0C09": "Embedded controller",
    "PNP0C0A": "Battery",
    "PNP0C0B": "Fan",
    "PNP0C0C": "Power button",
    "PNP0C0D": "Lid",
    "PNP0C0E": "Sleep button",
    "PNP0C0F": "PCI interrupt link",
    "PNP0C14": "Windows Management Interface for ACPI",
    "PNP0F13": "PS/2 compatible mouse",
    "ACPI0003": "AC adapter",
    "ACPI0007": "Processor",
    "ACPI000E": "Time and alarm device",
    "ACPI0010": "Processor container",
    "LNXCPU": "Processor",
    "LNXPWRBN": "Power button",
    "LNXSLPBN": "Sleep button",
    "LNXSYBUS": "System bus",
    "LNXSYSTM": "ACPI root",
    "LNXTHERM": "Thermal zone",
    "LNXVIDEO": "Video bus",
}

Table = tuple[dict[str, str], dict[tuple[str, str], str]]


def _is_id(word: str) -> bool:
    return len(word) == 4 and all(c in "0123456789abcdefABCDEF" for c in word)


def parse_ids(text: str) -> Table:
    """``({vendor: name}, {(vendor, device): name})`` with lower-case hex keys."""
    vendors: dict[str, str] = {}
    devices: dict[tuple[str, str], str] = {}
    vendor = None
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        if line[0] == "\t":
            if vendor and line[1] != "\t":
                word, _, name = line[1:].partition(" ")
                if _is_id(word) and name.strip():
                    devices[vendor, word.lower()] = name.strip()
            continue
        word, _, name = line.partition(" ")
        vendor = word.lower() if _is_id(word) and name.strip() else None
        if vendor:
            vendors[vendor] = name.strip()
    return vendors, devices


class IdsDatabase:
    """Lazy lookups in ``pci.ids``/``usb.ids``, searched for in ``folders`` (first found wins)."""

    def __init__(self, folders: list[str] | tuple[str, ...]):
        self.folders = [Path(f) for f in folders]
        self._tables: dict[str, Table] = {}

    def lookup(self, kind: str, vendor: str, device: str) -> tuple[str | None, str | None]:
        """``(vendor name, device name)`` for ``kind`` "pci" or "usb"; None where unknown."""
        if kind not in self._tables:
            self._tables[kind] = self._load(f"{kind}.ids")
        vendors, devices = self._tables[kind]
        return vendors.get(vendor.lower()), devices.get((vendor.lower(), device.lower()))

    def _load(self, file_name: str) -> Table:
        for folder in self.folders:
            path = folder / file_name
            started = time.monotonic()
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            table = parse_ids(text)
            log.info("device names from %s: %d vendors, %d devices (parsed in %.0f ms)", path,
                     len(table[0]), len(table[1]), (time.monotonic() - started) * 1000)
            return table
        log.warning("no %s in %s: device names fall back to sysfs strings and hex ids "
                    "(install the hwdata package or set [plugins.devmgr] ids_dir)",
                    file_name, ", ".join(map(str, self.folders)))
        return {}, {}
