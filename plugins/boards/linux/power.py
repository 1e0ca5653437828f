"""The generic Linux redundant-power driver (capability ``power``): the state of the two power inputs,
each read from a sysfs file that the operator names, since Linux has no standard class for "power
input 1 and 2" and every board wires them differently.

Settings ``[plugins.linux.power]`` (both inputs or neither; neither: no driver):

    vin1 = {type = "power_supply", name = "AC1"}
        ``<sysfs>/class/power_supply/AC1/online``: online when not 0 (USB-PD supplies also report
        2, "online, programmable").
    vin1 = {type = "hwmon_alarm", path = "hwmon2/in3_alarm"}
        ``<sysfs>/class/hwmon/hwmon2/in3_alarm``: online while the alarm reads 0.
    vin1 = {type = "hwmon_threshold", path = "hwmon2/in3_input", min_mv = 11000, max_mv = 13000}
        online while ``min_mv <= value`` (and ``<= max_mv`` when given); in*_input is in millivolts.
    vin1 = {type = "gpio_sysfs", gpio = 17, invert = false}
        ``<sysfs>/class/gpio/gpio17/value``: online when 1, or when 0 with ``invert = true`` (for an
        alarm line that goes high when the input is lost). The kernel already applies the line's own
        ``active_low`` attribute to ``value``. The GPIO must have been exported by the board's set-up:
        exporting is a side effect, and sysfs GPIO numbers are global (chip base + offset) and board
        specific, so we never guess one.

hwmon paths: ``hwmonN`` numbers follow driver probe order and can change between boots or kernels, so
the first part may also be the chip's ``name`` (``path = "nct6775/in3_alarm"``), which must then be
unique. Like the hwmon driver, an attribute missing from ``hwmonN/`` is looked up on ``hwmonN/device/``
(drivers on the old registration API keep it there).

A source that cannot be read, or does not hold an integer, makes ``read()`` raise ``OSError`` naming
the input: an unreadable sensor is not evidence that the input is offline.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from portald.settings import Settings as _Settings

from .sysfs import read_attr

log = logging.getLogger(__name__)

CAPABILITY = "power"
INPUTS = ("vin1", "vin2")
_HWMON_PATH = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*/[A-Za-z0-9_]+$"


class _Source(_Settings):
    """One input's source: an inline table of ``[plugins.linux.power]``, as strict as the table."""


class PowerSupply(_Source):
    type: Literal["power_supply"]
    name: str = Field(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.:-]*$")


class HwmonAlarm(_Source):
    type: Literal["hwmon_alarm"]
    path: str = Field(pattern=_HWMON_PATH)


class HwmonThreshold(_Source):
    type: Literal["hwmon_threshold"]
    path: str = Field(pattern=_HWMON_PATH)
    min_mv: int
    max_mv: int | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if self.max_mv is not None and self.max_mv < self.min_mv:
            raise ValueError("max_mv must not be below min_mv")
        return self


class GpioSysfs(_Source):
    type: Literal["gpio_sysfs"]
    gpio: int = Field(ge=0)
    invert: bool = False


Source = Annotated[Union[PowerSupply, HwmonAlarm, HwmonThreshold, GpioSysfs], Field(discriminator="type")]


class Settings(_Settings):
    """``[plugins.linux.power]``: where inputs 1 and 2 are read (see the module docstring)."""

    vin1: Source | None = None
    vin2: Source | None = None

    @model_validator(mode="after")
    def _both_or_neither(self):
        if (self.vin1 is None) != (self.vin2 is None):
            raise ValueError("set both vin1 and vin2, or neither")
        return self


def _read_int(path: Path) -> int:
    try:
        text = read_attr(path)
    except OSError as exc:
        raise OSError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return int(text)
    except ValueError:
        raise OSError(f"{path} holds {text[:20]!r}, not an integer") from None


class LinuxPowerDriver:
    name = "linux.power"
    # hwmon alarms and power-supply attributes of PMICs and super-I/O chips are read over I2C/SMBus,
    # which can stall: the core runs these calls in the threadpool
    blocking = True

    def __init__(self, sysfs_root: Path, inputs: Settings):
        self.sysfs_root, self.inputs = Path(sysfs_root), inputs

    def probe(self) -> bool:
        try:
            self.read()
        except OSError as exc:
            log.warning("redundant power is configured but cannot be read: %s", exc)
            return False
        return True

    def read(self) -> dict[str, int]:
        states = {}
        for vin in INPUTS:
            source = getattr(self.inputs, vin)
            try:
                states[vin] = self._state(source)
            except OSError as exc:
                raise OSError(f"{vin} ({source.type}): {exc}") from None
        return states

    def _state(self, source) -> int:
        if isinstance(source, PowerSupply):
            return int(_read_int(self.sysfs_root / "class" / "power_supply" / source.name / "online") != 0)
        if isinstance(source, HwmonAlarm):
            return int(_read_int(self._hwmon_file(source.path)) == 0)
        if isinstance(source, HwmonThreshold):
            value = _read_int(self._hwmon_file(source.path))
            return int(source.min_mv <= value and (source.max_mv is None or value <= source.max_mv))
        value = _read_int(self.sysfs_root / "class" / "gpio" / f"gpio{source.gpio}" / "value")
        return int((value != 0) != source.invert)

    def _hwmon_file(self, path: str) -> Path:
        chip, attribute = path.split("/")
        class_dir = self.sysfs_root / "class" / "hwmon"
        if not (chip.startswith("hwmon") and chip[5:].isdigit()):
            chip = self._chip_named(class_dir, chip)
        folder = class_dir / chip
        return folder / attribute if (folder / attribute).exists() else folder / "device" / attribute

    @staticmethod
    def _chip_named(class_dir: Path, name: str) -> str:
        try:
            entries = sorted(class_dir.iterdir())
        except OSError:
            entries = []
        found = []
        for entry in entries:
            try:
                # another chip's name may hold any bytes: compare, never fail on it
                if read_attr(entry / "name") == name:
                    found.append(entry.name)
            except OSError:
                continue
        if len(found) != 1:
            raise OSError(f"{len(found)} hwmon chips are named {name!r}; name one as hwmonN instead"
                          if found else f"no hwmon chip is named {name!r}")
        return found[0]


def create_driver(ctx, settings: Settings):
    if settings.vin1 is None:
        log.debug("no redundant power configured ([plugins.linux.power] vin1 and vin2)")
        return None
    return LinuxPowerDriver(ctx.paths.sysfs(), settings)
