"""The ``disk`` driver of the Windows board: the machine's volumes through psutil, each shown as a
disk holding one partition.

psutil sees volumes (``C:\\``), not the physical drives under them (the spec's ``\\\\.\\PHYSICALDRIVE0``):
which drive a volume sits on, and a drive's vendor, model, serial number and firmware, need
``IOCTL_STORAGE_QUERY_PROPERTY`` / ``IOCTL_VOLUME_GET_VOLUME_DISK_EXTENTS`` or WMI, which this driver
does not use. So each local volume is a "disk" named by its drive (``C:``) with the size of its
filesystem, its identity left empty (``vendor``, ``model``, ``serialNumber``, ``firmwareRevision``
``""``, ``physicalBlockSizeBytes`` 0) and one partition: itself, mounted at ``C:`` as in the spec.
``mediaType`` comes from the drive type psutil reports in ``opts``: ``fixed`` -> fixed,
``removable`` and ``cdrom`` -> removable. Network drives (``remote``) and RAM disks are not disks
and are left out, as are drives without a medium (an empty card reader or DVD drive).

I/O counters (``io_counters()``) are psutil's ``disk_io_counters(perdisk=True)``: Windows counts them
per physical drive (``PhysicalDrive0``, the ``device`` label), not per volume, so they do not share
names with the volumes above. psutil gives the read and write times in milliseconds.

S.M.A.R.T.: not available (psutil has none; Windows gives it through WMI's
``MSStorageDriver_FailurePredictData`` or an ATA pass-through ioctl). The reader answers None,
"cannot be asked", so the disk plugin serves no attributes.
"""
from __future__ import annotations

import logging
import sys

import psutil

log = logging.getLogger(__name__)

CAPABILITY = "disk"

FIXED, REMOVABLE = "Fixed hard disk media", "Removable media"
MEDIA = {"fixed": FIXED, "removable": REMOVABLE, "cdrom": REMOVABLE}


def drive_name(mountpoint: str) -> str:
    """``C:\\`` -> ``C:`` (the spec's form); a volume mounted in a folder keeps its path."""
    return mountpoint.rstrip("\\") or mountpoint


def volume_disk(part, usage) -> dict | None:
    """A disk entry for one ``psutil.disk_partitions()`` entry and its ``psutil.disk_usage()``; None
    for what is not a local disk (network drive, RAM disk, unknown type)."""
    opts = set(part.opts.split(","))
    kind = next((k for k in MEDIA if k in opts), None)
    if kind is None:
        return None
    name = drive_name(part.mountpoint)
    return {
        "name": name,
        "sizeBytes": usage.total,
        "physicalBlockSizeBytes": 0,
        "removable": MEDIA[kind] == REMOVABLE,
        "vendor": "",
        "model": "",
        "serialNumber": "",
        "firmwareRevision": "",
        "mediaType": MEDIA[kind],
        "partitions": [{
            "mountPoint": name,
            "sizeBytes": usage.total,
            "freeBytes": usage.free,
            "usedBytes": usage.total - usage.free,
            "usedPercent": (usage.total - usage.free) / usage.total * 100 if usage.total else 0.0,
            "readOnly": "ro" in opts,
        }],
    }


def io_counters(per_disk: dict) -> list[dict]:
    """``io_counters()`` from ``psutil.disk_io_counters(perdisk=True)`` on Windows, in its order."""
    return [{"device": name, "readsCompleted": c.read_count, "writesCompleted": c.write_count,
             "readBytes": c.read_bytes, "writtenBytes": c.write_bytes,
             "readTimeSeconds": c.read_time / 1000, "writeTimeSeconds": c.write_time / 1000}
            for name, c in per_disk.items()]


class NoSmart:
    """Windows' S.M.A.R.T. is not read: every disk "cannot be asked now" (see the module docstring)."""

    def attributes(self, name: str) -> None:
        return None


class WindowsDiskDriver:
    name = "windows.disk"
    blocking = True  # disk_usage() of a drive whose medium spins up or is gone waits on the drive

    def __init__(self):
        self.smart = NoSmart()

    def probe(self) -> bool:
        return sys.platform == "win32" and bool(self.disks())

    def disks(self) -> list[dict]:
        disks = []
        for part in psutil.disk_partitions(all=False):
            try:
                entry = volume_disk(part, psutil.disk_usage(part.mountpoint))
            except OSError as exc:  # no medium, or the volume went away
                log.debug("volume %s skipped: %s", part.mountpoint, exc)
                continue
            if entry is not None:
                disks.append(entry)
        return disks

    def io_counters(self) -> list[dict]:
        # {} when psutil finds no counters (Windows' disk performance counters switched off)
        return io_counters(psutil.disk_io_counters(perdisk=True) or {})


def create_driver(ctx, settings=None):
    return WindowsDiskDriver()
