"""Mounted filesystems of block devices and their usage, for the Linux disk driver.

This module owns reading the mount table (``<procfs_root>/self/mountinfo``: the mounts this process
sees, which are the ones ``statvfs`` can measure) and turning one mount into the API's partition entry
``{mountPoint, sizeBytes, freeBytes, usedBytes, usedPercent, readOnly}``. No web code.

Matching a mount to a block device: by device number first (mountinfo's ``major:minor``), because the
source name can lie -- ARM boards booted with ``root=/dev/mmcblk0p2`` show the root filesystem as
``/dev/root``. Then by source name, because btrfs reports an anonymous device number (``0:NN``) for its
mounts. A filesystem mounted more than once (bind mounts, btrfs subvolumes, container bind mounts) is
the same space: only its first mount in the table counts, or its usage would be counted twice.

Usage: ``sizeBytes`` is the filesystem's size, ``freeBytes`` what an ordinary program can still write
(``f_bavail``, df's "Avail"), ``usedBytes = sizeBytes - freeBytes`` -- so, as in the spec's example,
used + free = size, and ext4's root-reserved blocks count as used: a disk shown 100% used really is full
for applications. Mount points are looked up under ``rootfs`` (``/`` unless portald runs in a container
that sees the host's root elsewhere).
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    devno: str  # "major:minor"
    source: str
    mount_point: str
    read_only: bool


def read_mounts(mountinfo: Path) -> list[Mount]:
    """The mount table in mount order; unreadable or malformed lines are skipped."""
    try:
        lines = mountinfo.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        log.debug("cannot read %s: %s", mountinfo, exc)
        return []
    mounts = []
    for line in lines:
        # id parent major:minor root mount-point options [optional...] - fstype source super-options
        head, sep, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if not sep or len(fields) < 6 or len(rest) < 3:
            continue
        options = set(fields[5].split(",")) | set(rest[2].split(","))
        mounts.append(Mount(fields[2], _unescape(rest[1]), _unescape(fields[4]), "ro" in options))
    return mounts


def _unescape(text: str) -> str:
    # the kernel writes space, tab, newline and backslash in paths as octal escapes (\040 ...)
    return _ESCAPE.sub(lambda m: chr(int(m[1], 8)), text)


def first_mount(mounts: list[Mount], name: str, devno: str | None) -> Mount | None:
    """The first mount of block device ``name`` (device number ``devno``), if it is mounted."""
    for mount in mounts:
        if (devno and mount.devno == devno) or os.path.basename(mount.source) == name:
            return mount
    return None


def partition_entry(mount: Mount, rootfs: Path, statvfs: Callable = os.statvfs) -> dict | None:
    """The API entry for one mount, or None when its filesystem cannot be measured."""
    try:
        st = statvfs(rootfs / mount.mount_point.lstrip("/"))
    except OSError as exc:
        log.debug("cannot measure %s: %s", mount.mount_point, exc)
        return None
    size = st.f_blocks * st.f_frsize
    free = min(size, st.f_bavail * st.f_frsize)
    used = size - free
    return {"mountPoint": mount.mount_point, "sizeBytes": size, "freeBytes": free, "usedBytes": used,
            "usedPercent": used / size * 100 if size else 0.0, "readOnly": mount.read_only}
