"""The generic Linux GPIO driver: the GPIO character device through libgpiod v2 when it can have the
configured lines, else the legacy ``<sysfs>/class/gpio`` interface (see ``gpio_chardev`` and
``gpio_sysfs``). A line already exported in sysfs is busy for the character device, so a machine whose
start-up scripts export their pins falls back to sysfs by itself.

Config ``[plugins.gpio]``:
  ``chip``   the GPIO chip's character device name under the dev root (default ``"gpiochip0"``)
  ``lines``  the chip's line offsets exposed as pins, in pin order (pin 0 is ``lines[0]``). There is
             no default: a chip's lines include ones wired to board functions (reset, power enables),
             and only the integrator knows which are the customer's I/O. Without it there is no GPIO.
"""
from __future__ import annotations


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


def settings(section: dict) -> tuple[str, list[int]]:
    """``(chip, lines)`` from ``[plugins.gpio]``; ``ValueError`` says what is wrong."""
    chip, lines = section.get("chip", "gpiochip0"), section.get("lines", [])
    if not isinstance(chip, str) or not chip or "/" in chip or chip in (".", ".."):
        raise ValueError('[plugins.gpio] chip must be a device name such as "gpiochip0"')
    if not isinstance(lines, list) or not all(type(line) is int and line >= 0 for line in lines):
        raise ValueError("[plugins.gpio] lines must be a list of line offsets (integers from 0)")
    if len(set(lines)) != len(lines):
        raise ValueError("[plugins.gpio] lines lists an offset twice")
    return chip, lines


CAPABILITY = "gpio"


def create_driver(ctx, _settings=None):
    chip, lines = settings(ctx.daemon_config.plugin_section("gpio"))
    return FirstThatProbes(ChardevGpioDriver(ctx.paths.dev(chip), lines),
                           SysfsGpioDriver(ctx.paths.sysfs("class", "gpio"), chip, lines))
