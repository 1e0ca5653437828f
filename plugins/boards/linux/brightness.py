"""Linux display brightness through the backlight class: ``<sysfs>/class/backlight/<name>/``
(``brightness``, ``max_brightness``, ``type``).

Owns the choice of backlight and the range. Settings ``[plugins.linux.brightness]``:
  ``device``  the backlight class name to use (default: chosen as below)
  ``min``     the lowest value a client may set (default 0). Some panels go completely dark at 0, and an
              operator with no other way to see the screen wants 1 here. It belongs to this driver, not
              to the brightness capability: it describes the panel, which the backlight class cannot
              (its range always starts at 0), as ``device`` describes the wiring; a board that knows
              its panel (an OEM's, the sim) reports its own minimum in ``read()``.
``max`` is ``max_brightness`` and ``value`` is ``brightness`` (the requested value, which is what a
client set; ``actual_brightness`` may lag or be quantised by the firmware). Failures raise ``OSError``.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from pydantic import Field

from portald.settings import Settings as _Settings

from .sysfs import read_attr as _read_text
from .sysfs import read_int as _read_int

log = logging.getLogger(__name__)

# Documentation/ABI/stable/sysfs-class-backlight: when a panel has several interfaces, userspace
# should prefer "firmware" (ACPI/EFI) over "platform" (vendor module) over "raw" (the GPU register).
_TYPE_RANK = {"firmware": 0, "platform": 1, "raw": 2}


class LinuxBacklightDriver:
    name = "linux.brightness"
    # backlight drivers behind I2C/DDC-CI or an EC answer sysfs writes over a slow bus that can stall:
    # the core runs these calls in the threadpool
    blocking = True

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
            log.warning("[plugins.linux.brightness] min %d is above %s's max_brightness %d", self._min,
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
                log.warning("[plugins.linux.brightness] device %r not found under %s", self._device, self._class_dir)
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


class Settings(_Settings):
    """``[plugins.linux.brightness]``: ``device`` and ``min`` (see the module docstring)."""

    device: str | None = Field(None, min_length=1, pattern=r"^[^/]+$")
    min: int = Field(0, ge=0)


def create_driver(ctx, settings: Settings):
    return LinuxBacklightDriver(ctx.paths.sysfs("class", "backlight"), settings.device, settings.min)
