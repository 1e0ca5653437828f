"""Linux hardware-monitor (hwmon) sensors, read straight from sysfs.

This module owns discovery of the hwmon chips under ``<sysfs_root>/class/hwmon``,
reading their temperature, voltage, current and fan-speed inputs, converting the
kernel's units, and giving every sensor a stable, unique name. It has no web code.

Kernel layout (Documentation/hwmon/sysfs-interface.rst): each ``hwmon<N>`` entry
is a symlink into ``/sys/devices/...``. A sensor is a group of files sharing a
``<kind><n>_`` prefix: ``_input`` (the reading), optionally ``_label`` and
``_enable``. Kinds and kernel units: ``temp`` milli-degC, ``in`` mV, ``curr``
mA, ``fan`` RPM. Output units are "Celsius", "Volt", "A", "RPM". Values keep the
kernel's full resolution: temperature, voltage and current are the kernel's
integer divided by 1000, a float that prints as exactly that decimal (792 mV is
``0.792``, 12345 mV ``12.345``, 45000 millidegrees ``45.0``); fan speed is an int.

Sensors are skipped, never raised, when ``_input`` cannot be read or does not
hold an integer (EIO, ENODATA, ENXIO... happen on real chips whose channel is
not wired or whose bus hiccups), and when an ``_enable`` file exists and
reads 0 (the driver has switched that channel off, its ``_input`` is stale).

Naming rule. Names are unique within each kind's list, and are computed from
the sensor files that exist (a ``<kind><n>_input`` file is present) before any
value is read, so a sensor that fails to read or is disabled keeps its name and
never renames its neighbours. ``<chip>`` is the chip's ``name`` attribute, or
``hwmon<N>`` when it has none; ``<where>`` tells two chips of one name apart:
``<chip>.hwmon<N>``, or just ``hwmon<N>`` for a chip without a name (never
``hwmon4.hwmon4``).

1. A sensor's own name is its label (``_label`` stripped, when the file is
   readable and not empty), otherwise chip and channel, ``"<chip> <kind><n>"``,
   e.g. ``"nct6775 in0"``, ``"acpitz temp1"``, ``"hwmon4 temp1"``.
2. When two or more sensors of one kind share an own name, every one of them
   becomes ``"<where> <label>"``, or ``"<where> <kind><n>"`` if unlabelled, e.g.
   ``"coretemp.hwmon1 Core 0"``, ``"acpitz.hwmon3 temp1"``, ``"hwmon4 CPU"``.
3. If names are still shared after step 2 (one chip giving two of its own
   sensors the same label), those become ``"<where> <kind><n>"``.

Order: chips by numeric hwmon index (hwmon2 before hwmon10), then sensors by
numeric index (temp2 before temp10).
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .sysfs import read_attr_or_none as _read_attr
from .sysfs import read_int_or_none as _read_int

log = logging.getLogger(__name__)

# attribute prefix -> (output key, divisor from kernel unit, output unit)
KINDS = {
    "temp": ("temperature", 1000, "Celsius"),
    "in": ("voltage", 1000, "Volt"),
    "curr": ("current", 1000, "A"),
    "fan": ("fanspeed", 1, "RPM"),
}

_CHIP_RE = re.compile(r"hwmon(\d+)")
_INPUT_RE = re.compile(r"(temp|in|curr|fan)(\d+)_input")


@dataclass(frozen=True)
class _Sensor:
    hwmon: int  # N of hwmon<N>
    chip: str
    kind: str  # attribute prefix: temp, in, curr, fan
    index: int
    folder: Path  # where this sensor's attribute files live
    label: str | None

    @property
    def attr_name(self) -> str:
        return f"{self.kind}{self.index}"

    @property
    def where(self) -> str:
        own = f"hwmon{self.hwmon}"
        return own if self.chip == own else f"{self.chip}.{own}"

    def path(self, suffix: str) -> Path:
        return self.folder / f"{self.attr_name}_{suffix}"


class LinuxHwmonDriver:
    name = "linux.hwmon"
    blocking = True  # sensor files of super-I/O chips and BMCs are read over I2C/SMBus, which can stall

    def __init__(self, sysfs_root: str | os.PathLike[str]):
        self._class_dir = Path(sysfs_root, "class", "hwmon")

    def probe(self) -> bool:
        if any(self.read().values()):
            return True
        log.debug("no readable hwmon sensor under %s", self._class_dir)
        return False

    def read(self) -> dict[str, list[dict]]:
        result: dict[str, list[dict]] = {key: [] for key, _, _ in KINDS.values()}
        sensors = [s for index, path in self._chips() for s in self._sensors(index, path)]
        for sensor, name in zip(sensors, _unique_names(sensors)):
            value = self._value(sensor)
            if value is not None:
                key, _, unit = KINDS[sensor.kind]
                result[key].append({"name": name, "value": value, "unit": unit})
        return result

    def _chips(self) -> list[tuple[int, Path]]:
        try:
            entries = list(self._class_dir.iterdir())
        except OSError as exc:
            log.debug("cannot list %s: %s", self._class_dir, exc)
            return []
        chips = []
        for entry in entries:
            match = _CHIP_RE.fullmatch(entry.name)
            if match and entry.is_dir():  # is_dir() follows the class symlink
                chips.append((int(match[1]), entry))
        return sorted(chips, key=lambda chip: chip[0])

    def _sensors(self, hwmon: int, chip_dir: Path) -> list[_Sensor]:
        # Drivers still on the old hwmon_device_register() API keep name and
        # sensor files on the parent device, reached through the "device" link,
        # and leave the hwmon dir itself nearly empty. Look in both; the hwmon
        # dir comes first so it wins if a file shows up in both places.
        folders = [chip_dir, chip_dir / "device"]
        chip = next(
            (n for n in (_read_attr(f / "name") for f in folders) if n),
            f"hwmon{hwmon}",
        )
        found: dict[tuple[str, int], Path] = {}
        for folder in folders:
            try:
                names = os.listdir(folder)
            except OSError:
                continue  # virtual chips have no "device" link
            for file_name in names:
                match = _INPUT_RE.fullmatch(file_name)
                if match:
                    found.setdefault((match[1], int(match[2])), folder)
        sensors = []
        for (kind, index), folder in sorted(found.items()):
            label = _read_attr(folder / f"{kind}{index}_label") or None
            sensors.append(_Sensor(hwmon, chip, kind, index, folder, label))
        return sensors

    @staticmethod
    def _value(sensor: _Sensor) -> int | float | None:
        if _read_int(sensor.path("enable")) == 0:
            return None
        raw = _read_int(sensor.path("input"))
        if raw is None:
            log.debug("skipping unreadable %s", sensor.path("input"))
            return None
        _, divisor, _ = KINDS[sensor.kind]
        # No rounding: int / int is correctly rounded, so the float is the one nearest to the kernel's
        # decimal and its repr (what JSON prints) is that decimal itself, digit for digit.
        return raw if divisor == 1 else raw / divisor


def _unique_names(sensors: list[_Sensor]) -> list[str]:
    """Apply the naming rule from the module docstring, in input order."""
    names = [s.label or f"{s.chip} {s.attr_name}" for s in sensors]
    names = _rename_shared(sensors, names, lambda s: s.label or s.attr_name)
    return _rename_shared(sensors, names, lambda s: s.attr_name)


def _rename_shared(sensors, names, suffix) -> list[str]:
    counts = Counter(zip((s.kind for s in sensors), names))
    return [
        f"{s.where} {suffix(s)}" if counts[s.kind, name] > 1 else name
        for s, name in zip(sensors, names)
    ]


CAPABILITY = "hwmon"


def create_driver(ctx, settings=None):
    return LinuxHwmonDriver(ctx.paths.sysfs_root)
