"""The generic Linux GPIO driver: the GPIO character device through libgpiod v2 when it can have the
configured lines, else the legacy ``<sysfs>/class/gpio`` interface (see ``gpio_chardev`` and
``gpio_sysfs``). A line already exported in sysfs is busy for the character device, so a machine whose
start-up scripts export their pins falls back to sysfs by itself.

Settings ``[plugins.linux.gpio]``:
  ``chip``   the GPIO chip's character device name under the dev root (default ``"gpiochip0"``)
  ``lines``  the chip's line offsets exposed as pins, in pin order (pin 0 is ``lines[0]``). There is
             no default: a chip's lines include ones wired to board functions (reset, power enables),
             and only the integrator knows which are the customer's I/O. Without it there is no GPIO.
"""
from __future__ import annotations

from pydantic import Field, field_validator

from portald.settings import Settings as _Settings

from .gpio_chardev import ChardevGpioDriver
from .gpio_sysfs import SysfsGpioDriver


class FirstThatProbes:
    """One ``gpio`` driver made of alternatives: the first whose ``probe()`` is true does the work."""

    blocking = True  # chardev ioctls and sysfs GPIO files can stall: the core runs calls in the threadpool

    def __init__(self, *drivers):
        self._drivers = drivers
        self._chosen = None

    @property
    def name(self) -> str:
        return self._chosen.name if self._chosen is not None else "linux.gpio"

    def probe(self) -> bool:
        self._chosen = next((driver for driver in self._drivers if driver.probe()), None)
        return self._chosen is not None

    def count(self) -> int:
        return self._chosen.count()

    def read(self, pin: int) -> dict[str, int]:
        return self._chosen.read(pin)

    def set_dir(self, pin: int, direction: int) -> None:
        self._chosen.set_dir(pin, direction)

    def set_level(self, pin: int, level: int) -> None:
        self._chosen.set_level(pin, level)

    def close(self) -> None:
        if self._chosen is not None:
            self._chosen.close()


CAPABILITY = "gpio"


class Settings(_Settings):
    """``[plugins.linux.gpio]``: ``chip`` and ``lines`` (see the module docstring)."""

    chip: str = Field("gpiochip0", min_length=1, pattern=r"^[^/]+$")
    lines: list[int] = []

    @field_validator("chip")
    @classmethod
    def _device_name(cls, chip: str) -> str:
        if chip in (".", ".."):
            raise ValueError('must be a device name such as "gpiochip0"')
        return chip

    @field_validator("lines")
    @classmethod
    def _offsets(cls, lines: list[int]) -> list[int]:
        if any(line < 0 for line in lines):
            raise ValueError("line offsets are integers from 0")
        if len(set(lines)) != len(lines):
            raise ValueError("an offset is listed twice")
        return lines


def create_driver(ctx, settings: Settings):
    return FirstThatProbes(ChardevGpioDriver(ctx.paths.dev(settings.chip), settings.lines),
                           SysfsGpioDriver(ctx.paths.sysfs("class", "gpio"), settings.chip, settings.lines))
