"""Board identity from the kernel's DMI/SMBIOS export, ``<sysfs_root>/class/dmi/id/*``.

The ``board`` capability (Protocol ``BoardDriver`` in ``plugins/host/interface.py``): ``read()`` returns
the DMI fields by their sysfs names (``product_name``, ``product_serial``, ``product_uuid``,
``board_name``, ``bios_version``, ...). Fields the kernel hides from non-root readers or that are missing
are left out. ARM boards without SMBIOS have no folder: the probe is then false. ``ec_version`` is never
given here: embedded controllers have no generic kernel interface, so only an OEM board plugin that
talks to its EC can fill it in.
"""
from __future__ import annotations

from pathlib import Path

from .sysfs import read_attr

FIELDS = ("sys_vendor", "product_name", "product_version", "product_serial", "product_uuid", "board_vendor",
          "board_name", "board_version", "board_serial", "bios_vendor", "bios_version", "bios_date",
          "bios_release", "chassis_type", "chassis_serial")


class LinuxBoardDriver:
    name = "linux.board"
    blocking = True  # sysfs/ioctl calls can stall on a slow bus: the core runs them in the threadpool

    def __init__(self, sysfs_root):
        self.folder = Path(sysfs_root, "class", "dmi", "id")

    def probe(self) -> bool:
        return (self.folder / "product_name").is_file() or (self.folder / "board_name").is_file()

    def read(self) -> dict[str, str]:
        out = {}
        for field in FIELDS:
            try:
                value = read_attr(self.folder / field)
            except OSError:
                continue
            out[field] = value
        return out


CAPABILITY = "board"


def create_driver(ctx, settings=None):
    return LinuxBoardDriver(ctx.paths.sysfs_root)
