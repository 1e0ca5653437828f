"""Linux display brightness through the backlight class: ``<sysfs>/class/backlight/<name>/``
(``brightness``, ``max_brightness``, ``type``).

Owns the choice of backlight and the range. Config ``[plugins.brightness]``:
  ``device``  the backlight class name to use (default: chosen as below)
  ``min``     the lowest value a client may set (default 0). Some panels go completely dark at 0, and an
              operator with no other way to see the screen wants 1 here.
``max`` is ``max_brightness`` and ``value`` is ``brightness`` (the requested value, which is what a
client set; ``actual_brightness`` may lag or be quantised by the firmware). Failures raise ``OSError``.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from .sysfs import read_attr as _read_text
from .sysfs import read_int as _read_int

log = logging.getLogger(__name__)

# Documentation/ABI/stable/sysfs-class-backlight: when a panel has several interfaces, userspace
# should prefer "firmware" (ACPI/EFI) over "platform" (vendor module) over "raw" (the GPU register).
_TYPE_RANK = {"firmware": 0, "platform": 1, "raw": 2}


class LinuxBacklightDriver:
    name = "linux.backlight"
    blocking = True  # sysfs/ioctl calls can stall on a slow bus: the core runs them in the threadpool

    def __init__(self, class_dir: str | os.PathLike[str], device: str | None = None, minimum: int = 0):
        self._class_dir = Path(class_dir)
        self._device = device
        self._min = minimum
        self._dir: Path | None = None

    def probe(self) -> bool:
        self._dir = self._choose()
        if self._dir is None:
            return False
        try:
            maximum = _read_int(self._dir / "max_brightness")
        except OSError as exc:
            log.warning("backlight %s unusable: %s", self._dir.name, exc)
            return False
        if self._min > maximum:
            log.warning("[plugins.brightness] min %d is above %s's max_brightness %d", self._min,
                        self._dir.name, maximum)
            return False
        return True

    def read(self) -> dict[str, int]:
        return {"min": self._min, "max": _read_int(self._dir / "max_brightness"),
                "value": _read_int(self._dir / "brightness")}

    def write(self, value: int) -> None:
        (self._dir / "brightness").write_text(f"{value}\n", encoding="ascii")

    def _choose(self) -> Path | None:
        try:
            found = [entry for entry in self._class_dir.iterdir() if entry.is_dir()]
        except OSError:
            found = []
        if self._device is not None:
            chosen = next((entry for entry in found if entry.name == self._device), None)
            if chosen is None:
                log.warning("[plugins.brightness] device %r not found under %s", self._device, self._class_dir)
            return chosen
        if not found:
            log.debug("no backlight under %s", self._class_dir)
            return None
        return min(found, key=lambda entry: (_TYPE_RANK.get(self._type(entry), len(_TYPE_RANK)), entry.name))

    @staticmethod
    def _type(entry: Path) -> str:
        try:
            return _read_text(entry / "type")
        except OSError:
            return ""


CAPABILITY = "brightness"


def create_driver(ctx, settings=None):
    section = ctx.daemon_config.plugin_section("brightness")
    device, minimum = section.get("device"), section.get("min", 0)
    if device is not None and not isinstance(device, str):
        raise ValueError("[plugins.brightness] device must be a backlight class name")
    if type(minimum) is not int or minimum < 0:
        raise ValueError("[plugins.brightness] min must be an integer from 0")
    return LinuxBacklightDriver(ctx.paths.sysfs("class", "backlight"), device, minimum)
