"""Physical disks from sysfs (``<sysfs_root>/block``), with their mounted partitions and S.M.A.R.T.

This module owns the Linux ``disk`` driver: which block devices are disks, their identity (size, block
size, vendor, model, serial number, firmware revision, media type) and their mounted filesystems
(through ``disk_mounts``); S.M.A.R.T. comes from ``disk_smart`` (smartctl). No web code. Settings
``[plugins.linux.disk]``: ``smartctl`` (command, default ``["smartctl"]``), ``smart_timeout_seconds``
(20), ``rootfs`` (``"/"``) and ``include_virtual`` (false).

Blocking: ``disks()`` reads sysfs and calls ``statvfs`` on every mount point, which blocks on a dead
network mount, so the driver sets ``blocking = True``. Its S.M.A.R.T. reader (``smart``, a
``disk_smart.SmartCtl``) is an attribute, not a method: smartctl runs through the daemon's command
runner, which waits cooperatively on the event loop and cannot run in a pool thread at all.

Which entries of ``block/`` are disks:

* a physical disk has a ``device`` link to the hardware under it; loop, ram, zram, device-mapper, md
  and nbd devices have none (``include_virtual = true`` keeps them). The resolved path is no guide:
  with native NVMe multipath (Debian's and most distributions' kernels) ``nvme0n1`` lives under
  ``devices/virtual/nvme-subsystem/`` although it is a real drive;
* ``hidden`` disks are skipped: they are the per-controller paths (``nvme0c0n1``) of a multipath NVMe
  namespace, already shown as ``nvme0n1``;
* ``mmcblkNbootM`` and ``mmcblkNrpmb`` are skipped: they are hardware partitions of the same eMMC chip
  (bootloader areas, usually force read-only, and the replay-protected block), not separate disks;
* size 0 means no medium (empty card reader, empty optical drive): skipped.

Partitions are the mounted filesystems on the disk, its partitions, and what is stacked on them
(LUKS, LVM, RAID: the ``holders/`` chain), in that order; unmounted partitions and swap have no mount
point and are not listed (as on the original Windows product, which listed volumes).

I/O counters (``io_counters()``) come from ``<procfs_root>/diskstats``, one line per block device:
major, minor, name, then reads completed, reads merged, sectors read, milliseconds reading, writes
completed, writes merged, sectors written, milliseconds writing, and more that is not used (I/Os in
progress, discard and flush figures of newer kernels). Sectors are 512 bytes there whatever the
device's block size, and devices are left out by node_exporter's default pattern (``IGNORED``), not by
the sysfs rules above: the series are meant to match node_exporter's.

Identity quirks: a SATA disk behind libata reports SCSI vendor ``"ATA"`` (ATA IDENTIFY has no vendor
field) and only the last 4 characters of its firmware revision (the SCSI INQUIRY field is 4 bytes);
its serial number is in the unit-serial VPD page (``vpd_pg80``). NVMe and eMMC have no vendor string:
the PCI vendor id of the NVMe controller (``0x144d``) and the eMMC/SD manufacturer id (``0x000015``)
are given instead. USB bridges often answer no VPD page: the USB device's own serial is used.
``queue/rotational`` is not used: USB sticks report 1, and the spec's ``mediaType`` is the Windows
classification (fixed / external / removable), not HDD/SSD.
"""
from __future__ import annotations

import errno
import logging
import os
import re
from pathlib import Path
from typing import Callable

from pydantic import Field, field_validator

from portald.settings import Settings as _Settings

from .disk_mounts import first_mount, partition_entry, read_mounts
from .disk_smart import NoSmart, SmartCtl
from .sysfs import read_attr

log = logging.getLogger(__name__)

SECTOR = 512  # sysfs "size" and diskstats' sectors are 512-byte sectors whatever the logical block size
# node_exporter's default --collector.diskstats.device-exclude
IGNORED = re.compile(r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$")
_HW_PARTITION = re.compile(r"mmcblk\d+(boot\d+|rpmb)")
FIXED, EXTERNAL, REMOVABLE = "Fixed hard disk media", "External hard disk media", "Removable media"


def _read(path: Path) -> str:
    try:
        return read_attr(path)
    except OSError:
        return ""


def _int(path: Path) -> int:
    try:
        return int(_read(path))
    except ValueError:
        return 0


def _first(*sources: Path | str) -> str:
    """The first non-empty value: sysfs files are read, strings taken as they are."""
    for source in sources:
        text = source if isinstance(source, str) else _read(source)
        if text:
            return text
    return ""


def parse_diskstats(text: str) -> list[dict]:
    """The ``io_counters()`` of a ``/proc/diskstats`` text (see the module docstring); lines that are
    too short or not numbers are skipped."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 11 or IGNORED.match(fields[2]):
            continue
        try:
            reads, _, read_sectors, read_ms, writes, _, written_sectors, write_ms = map(int, fields[3:11])
        except ValueError:
            continue
        found.append({"device": fields[2], "readsCompleted": reads, "writesCompleted": writes,
                      "readBytes": read_sectors * SECTOR, "writtenBytes": written_sectors * SECTOR,
                      "readTimeSeconds": read_ms / 1000, "writeTimeSeconds": write_ms / 1000})
    return found


def _natural(name: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


class LinuxDiskDriver:
    name = "linux.disk"
    blocking = True  # statvfs of a dead network mount blocks; sysfs reads can stall (see the docstring)

    def __init__(self, sysfs_root: Path, mountinfo: Path, rootfs: Path = Path(os.sep),
                 include_virtual: bool = False, smartctl: SmartCtl | None = None,
                 statvfs: Callable = os.statvfs, diskstats: Path | None = None):
        self.sysfs_root, self.block = Path(sysfs_root), Path(sysfs_root, "block")
        # None: no counters (a driver built for the disk listing alone)
        self.diskstats = Path(diskstats) if diskstats is not None else None
        self.mountinfo, self.rootfs, self.include_virtual = Path(mountinfo), Path(rootfs), include_virtual
        self.smart = smartctl if smartctl is not None else NoSmart()
        self.statvfs = statvfs

    def probe(self) -> bool:
        if self._disk_dirs():
            return True
        log.debug("no physical disk under %s", self.block)
        return False

    def disks(self) -> list[dict]:
        mounts = read_mounts(self.mountinfo)
        disks = []
        for name, folder in self._disk_dirs():
            try:
                disks.append(self._disk(name, folder, mounts))
            except OSError as exc:  # unplugged while being read
                log.debug("disk %s skipped: %s", name, exc)
        return disks

    def io_counters(self) -> list[dict]:
        if self.diskstats is None:
            raise OSError(errno.ENOENT, "no diskstats file configured")
        return parse_diskstats(self.diskstats.read_text(errors="replace"))

    def _disk_dirs(self) -> list[tuple[str, Path]]:
        try:
            names = sorted(os.listdir(self.block), key=_natural)
        except OSError as exc:
            log.debug("cannot list %s: %s", self.block, exc)
            return []
        found = []
        for name in names:
            folder = self.block / name
            if not self.include_virtual and not (folder / "device").exists():
                continue
            if _read(folder / "hidden") == "1" or _HW_PARTITION.fullmatch(name) or _int(folder / "size") == 0:
                continue
            found.append((name, folder))
        return found

    def _disk(self, name: str, folder: Path, mounts) -> dict:
        device = folder / "device"
        removable = _read(folder / "removable") == "1"
        usb = self._usb_device(folder)
        partitions = []
        for part_name, part_dir in self._stack(folder):
            mount = first_mount(mounts, part_name, _read(part_dir / "dev"))
            entry = partition_entry(mount, self.rootfs, self.statvfs) if mount else None
            if entry and entry["mountPoint"] not in {p["mountPoint"] for p in partitions}:
                partitions.append(entry)
        return {
            "name": name,
            "sizeBytes": _int(folder / "size") * SECTOR,
            "physicalBlockSizeBytes": _int(folder / "queue" / "physical_block_size"),
            "removable": removable,
            "vendor": _first(device / "vendor", device / "manfid", device / "device" / "vendor",
                             *sorted(device.glob("nvme*/device/vendor"))),
            "model": _first(device / "model", device / "name"),
            "serialNumber": _first(folder / "serial", device / "serial", _vpd_serial(device),
                                   *([usb / "serial"] if usb else [])),
            "firmwareRevision": _first(device / "rev", device / "firmware_rev", device / "fwrev"),
            "mediaType": REMOVABLE if removable else EXTERNAL if usb else FIXED,
            "partitions": partitions,
        }

    def _stack(self, disk: Path) -> list[tuple[str, Path]]:
        """The disk, its partitions by number, then everything stacked on them, each once."""
        parts = sorted((p for p in disk.iterdir() if (p / "partition").is_file()),
                       key=lambda p: _int(p / "partition"))
        order, seen, queue = [], set(), [disk, *parts]
        while queue:
            folder = queue.pop(0)
            if folder.name in seen:
                continue
            seen.add(folder.name)
            order.append((folder.name, folder))
            holders = folder / "holders"
            if holders.is_dir():
                queue.extend(sorted(holders.iterdir(), key=lambda p: _natural(p.name)))
        return order

    def _usb_device(self, folder: Path) -> Path | None:
        root = self.sysfs_root.resolve()
        for parent in folder.resolve().parents:
            if parent == root or not parent.is_relative_to(root):
                return None
            if (parent / "idVendor").is_file():
                return parent
        return None


def _vpd_serial(device: Path) -> str:
    # VPD page 0x80: a 4-byte header (length in bytes 2-3, big-endian), then the serial number
    try:
        page = (device / "vpd_pg80").read_bytes()
    except OSError:
        return ""
    length = int.from_bytes(page[2:4], "big") if len(page) >= 4 else 0
    return page[4:4 + length].decode("ascii", errors="replace").strip(" \x00")


CAPABILITY = "disk"


class Settings(_Settings):
    """``[plugins.linux.disk]``: see the module docstring."""

    smartctl: list[str] = Field(["smartctl"], min_length=1)
    smart_timeout_seconds: float = Field(20.0, gt=0, le=600)
    rootfs: str = Field(os.sep, min_length=1)
    include_virtual: bool = False

    @field_validator("smartctl")
    @classmethod
    def _command(cls, command: list[str]) -> list[str]:
        if not all(command):
            raise ValueError("the command and its arguments must not be empty strings")
        return command


def create_driver(ctx, settings: Settings):
    return LinuxDiskDriver(ctx.paths.sysfs_root, ctx.paths.procfs("self", "mountinfo"),
                           rootfs=Path(settings.rootfs), include_virtual=settings.include_virtual,
                           diskstats=ctx.paths.procfs("diskstats"),
                           smartctl=SmartCtl(ctx.runner, settings.smartctl, ctx.paths.dev_root,
                                             settings.smart_timeout_seconds))
