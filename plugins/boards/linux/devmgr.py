"""The devices of the machine as the kernel lists them in sysfs, under a given root (no web code).

One entry per device, in the spec's shape (``vendorID``/``deviceID`` for PCI and USB only)::

    {"class": "PCI", "instancePath": "/devices/pci0000:00/0000:00:1f.6",
     "name": "Intel Corporation Ethernet Connection (2) I219-LM",
     "vendorID": "8086", "deviceID": "15B7", "status": "running"}

``class`` is the source, upper case like the spec's Windows enumerators (ACPI, PCI, USB, STORAGE):

========  =====================  =================================================================
class     sysfs folder           entries kept
ACPI      bus/acpi/devices       nodes with a ``hid`` (``device:NN`` nodes only give PCI slots an
                                 address; the devices in them are listed under PCI)
PLATFORM  bus/platform/devices   all (SoC blocks from the device tree, legacy PC devices)
PCI       bus/pci/devices        all
USB       bus/usb/devices        devices, not their interfaces (``1-1:1.0``)
STORAGE   class/block            disks and partitions
NET       class/net              all
INPUT     class/input            ``inputN`` (``eventN``, ``mouseN`` are handler nodes of one)
SOUND     class/sound            ``cardN`` (``controlC0``, ``pcmC0D0p`` ... are nodes of one)
========  =====================  =================================================================

Devices under ``devices/virtual`` (lo, bridges, veth, loop, zram, dm, uinput, ALSA seq/timer) are
software, not "hardware attached to the computer", and are left out.

``instancePath`` is the kernel's DEVPATH, the device's path below the sysfs mount point
(``/devices/...``, what ``udevadm info --path`` takes): unique, and independent of where sysfs is
mounted. The spec's example shows Windows instance ids, which have no Linux equivalent.

``name``: PCI and USB from the hwdata databases ("<vendor> <device>", as lspci/lsusb print them), else
the device's own string (PCI ``label`` from SMBIOS, USB ``manufacturer`` + ``product``), else
"<vendor> Device <id>" when only the vendor is known, else "<vendor id>:<device id>". ACPI and ACPI
backed platform devices by their generic id (``names.ACPI_NAMES``); disks by ``model``/``name`` of
their device; partitions by their GPT label; input devices by ``name``; sound cards by ``id``; else
the kernel's name for the device (``eth0``, ``sda1``, ``fe300000.ethernet``).

``status`` is "running" when a driver is bound (a ``driver`` link) else "stopped", looked for where
the kernel binds it: on the device itself for bus devices; on an ACPI node's physical devices
(``physical_node``, ``physical_node1`` ...) too, since ACPI nodes are firmware descriptions and most
drivers bind to the device made from them; and for class devices (block, net, input, sound), which
never have a driver of their own, on the nearest bus device above them, whose driver registered
them (a partition hangs below its disk, an NVMe namespace below its controller, which is itself a
class device below the PCI function the nvme driver is bound to).

Order: by class as in the table, then by instancePath, case-insensitive, with indexes compared as
numbers (input2 before input10) and PCI addresses as the fixed-width hex they are.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from pydantic import Field

from portald.settings import Settings as _Settings

from .devmgr_names import ACPI_NAMES, DEFAULT_IDS_DIRS, IdsDatabase

log = logging.getLogger("portald.plugins.devmgr")

SOURCES = (
    ("ACPI", ("bus", "acpi", "devices")),
    ("PLATFORM", ("bus", "platform", "devices")),
    ("PCI", ("bus", "pci", "devices")),
    ("USB", ("bus", "usb", "devices")),
    ("STORAGE", ("class", "block")),
    ("NET", ("class", "net")),
    ("INPUT", ("class", "input")),
    ("SOUND", ("class", "sound")),
)


class DevicesUnreadable(OSError):
    """sysfs is there but no device could be listed (the API answers 422 ``{"errors":{"DevMgr":..}}``)."""


def _text(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return text or None


def _hex(path: Path) -> int | None:
    text = _text(path)
    try:
        return int(text, 16) if text else None
    except ValueError:
        return None


def _bound(device: Path) -> bool:
    return os.path.lexists(device / "driver")


_PCI_ADDRESS = re.compile(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]")


def _natural(path: str) -> list[list]:
    # Indexes compare as numbers (input2 before input10, 1-4.2 before 1-4.10), but PCI addresses
    # are fixed-width hex, where splitting out digits would put 0000:00:1c.0 before 0000:00:02.0.
    # re.split keeps text at even and numbers at odd positions, so compared items share a type.
    key = []
    for part in path.lower().split("/"):
        if _PCI_ADDRESS.fullmatch(part):
            key.append([part])
        else:
            key.append([int(t) if i % 2 else t for i, t in enumerate(re.split(r"(\d+)", part))])
    return key


class SysfsDevices:
    """The ``devmgr`` driver: ``read()`` lists the devices under ``sysfs_root``."""

    name = "sysfs.devmgr"

    def __init__(self, sysfs_root: str | os.PathLike[str], ids: IdsDatabase):
        self.root = Path(os.path.abspath(sysfs_root))
        self._root_text = str(self.root).rstrip("/")
        self._devices_text = self._root_text + "/devices/"
        self.ids = ids
        self._reported: set[str] = set()

    def probe(self) -> bool:
        if any(self.root.joinpath(*folder).exists() for _, folder in SOURCES):
            return True
        log.debug("no device folder (bus/*/devices, class/*) under %s", self.root)
        return False

    def read(self) -> list[dict]:
        devices, errors = [], []
        for category, folder in SOURCES:
            where = self.root.joinpath(*folder)
            try:
                entries = os.listdir(where)
            except FileNotFoundError:
                continue  # that bus or class is not in this kernel
            except OSError as exc:
                errors.append(f"cannot list {'/'.join(folder)}: {exc.strerror or exc}")
                continue
            describe = getattr(self, f"_{category.lower()}")
            found = []
            for entry in entries:
                devpath = self._devpath(where, entry)
                if devpath is None or devpath.startswith("/devices/virtual/"):
                    continue
                described = describe(where / entry, devpath)
                if described is not None:
                    name, ids, running = described
                    found.append({"class": category, "instancePath": devpath, "name": name, **ids,
                                  "status": "running" if running else "stopped"})
            devices += sorted(found, key=lambda d: _natural(d["instancePath"]))
        for message in set(errors) - self._reported:
            log.warning("%s under %s", message, self.root)
        self._reported |= set(errors)
        if errors and not devices:
            raise DevicesUnreadable("; ".join(errors))
        return devices

    def _devpath(self, folder: Path, entry: str) -> str | None:
        # bus and class entries are symlinks into devices/; resolving them lexically keeps the
        # path inside the configured root even when that root itself lies behind a symlink.
        try:
            target = os.path.normpath(os.path.join(folder, os.readlink(os.path.join(folder, entry))))
        except OSError:
            return None  # not a link (no kernel makes these) or removed while we list (hot-unplug)
        return target[len(self._root_text):] if target.startswith(self._devices_text) else None

    def _driver_above(self, devpath: str) -> bool:
        # Class devices and grouping folders (net/, block/, nvme/) never bind drivers; the first
        # folder above whose subsystem link points into bus/ is the device that can.
        node, top = self.root / devpath.lstrip("/"), self.root / "devices"
        while node != top and top in node.parents:
            try:
                subsystem = os.readlink(node / "subsystem")
            except OSError:
                subsystem = ""
            if os.path.basename(os.path.dirname(subsystem)) == "bus":
                return _bound(node)
            node = node.parent
        return False

    # one method per class: (name, {vendorID, deviceID} or {}, running) or None to leave it out ----
    def _acpi(self, node: Path, devpath: str):
        hid = _text(node / "hid")
        if hid is None:
            return None
        running = _bound(node) or any(_bound(p) for p in node.glob("physical_node*"))
        return ACPI_NAMES.get(hid, hid), {}, running

    def _platform(self, device: Path, devpath: str):
        hid = _text(device / "firmware_node" / "hid")
        return ACPI_NAMES.get(hid or "") or device.name, {}, _bound(device)

    def _pci(self, device: Path, devpath: str):
        return self._by_ids("pci", device, _hex(device / "vendor"), _hex(device / "device"),
                            _text(device / "label"))

    def _usb(self, device: Path, devpath: str):
        if ":" in device.name:
            return None  # an interface, "<device>:<configuration>.<interface>"
        maker, product = _text(device / "manufacturer"), _text(device / "product")
        own = f"{maker} {product}" if maker and product and maker not in product else product
        return self._by_ids("usb", device, _hex(device / "idVendor"), _hex(device / "idProduct"), own)

    def _storage(self, block: Path, devpath: str):
        if (block / "partition").exists():
            # partitions have no device link of their own; GPT partition names are in the uevent
            name = _uevent(block).get("PARTNAME") or block.name
        else:
            name = _text(block / "device" / "model") or _text(block / "device" / "name") or block.name
        return name, {}, self._driver_above(devpath)

    def _net(self, interface: Path, devpath: str):
        return interface.name, {}, self._driver_above(devpath)

    def _input(self, node: Path, devpath: str):
        if not re.fullmatch(r"input\d+", node.name):
            return None
        return _text(node / "name") or node.name, {}, self._driver_above(devpath)

    def _sound(self, node: Path, devpath: str):
        if not re.fullmatch(r"card\d+", node.name):
            return None
        return _text(node / "id") or node.name, {}, self._driver_above(devpath)

    def _by_ids(self, kind: str, device: Path, vendor: int | None, product: int | None, own: str | None):
        if vendor is None or product is None:
            return own or device.name, {}, _bound(device)
        vendor_hex, product_hex = f"{vendor:04x}", f"{product:04x}"
        vendor_name, product_name = self.ids.lookup(kind, vendor_hex, product_hex)
        if vendor_name and product_name:
            name = f"{vendor_name} {product_name}"
        elif own:
            name = own
        elif vendor_name:
            name = f"{vendor_name} Device {product_hex}"
        else:
            name = f"{vendor_hex}:{product_hex}"
        return name, {"vendorID": vendor_hex.upper(), "deviceID": product_hex.upper()}, _bound(device)


def _uevent(device: Path) -> dict[str, str]:
    text = _text(device / "uevent") or ""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


CAPABILITY = "devmgr"


class Settings(_Settings):
    """``[plugins.linux.devmgr]``: ``ids_dir``, the folder holding ``pci.ids`` and ``usb.ids`` (default:
    the first of ``/usr/share/hwdata``, ``/usr/share/misc`` that has each file)."""

    ids_dir: str | None = Field(None, min_length=1)


def create_driver(ctx, settings: Settings):
    folders = (settings.ids_dir,) if settings.ids_dir else DEFAULT_IDS_DIRS
    return SysfsDevices(ctx.paths.sysfs_root, IdsDatabase(folders))
