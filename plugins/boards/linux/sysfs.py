"""Reading sysfs attributes the way every driver of the Linux board needs it: as text, bounded to one
page, never failing on undecodable bytes.

A text sysfs attribute is at most one page (the kernel's sysfs_emit limit), so nothing longer is read:
a misconfigured path pointing at a large file costs 4 KiB, not its whole size in memory and time.
"""
from __future__ import annotations

import errno
from pathlib import Path

ATTR_LIMIT = 4096


def read_attr(path: Path) -> str:
    """The attribute's text, stripped; ``OSError`` when it cannot be read."""
    with open(path, "rb") as handle:
        return handle.read(ATTR_LIMIT).decode("utf-8", errors="replace").strip()


def read_int(path: Path) -> int:
    """The attribute as an integer; ``OSError`` (EIO) when it does not hold one."""
    text = read_attr(path)
    try:
        return int(text)
    except ValueError:
        raise OSError(errno.EIO, f"not a number in {path.name}: {text[:20]!r}") from None


def read_attr_or_none(path: Path) -> str | None:
    """For optional attributes and sensors that may fail to read: None instead of an error."""
    try:
        return read_attr(path)
    except OSError:
        return None


def read_int_or_none(path: Path) -> int | None:
    text = read_attr_or_none(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
