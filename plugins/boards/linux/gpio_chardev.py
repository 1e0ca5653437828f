"""GPIO lines through the kernel's GPIO character device (``<dev>/gpiochipN``) with the libgpiod v2
Python bindings (PyPI ``gpiod`` >= 2).

Owns one line request for all configured lines, held from probe until ``close()``: the character
device keeps a line's direction and output level only while it is requested (after release the kernel
may put it back to its default, often input), so an output stays driven only as long as the daemon
holds it. The lines are requested "as is", so taking them over at start-up changes nothing on the
wires. Probe is false, and says why, when the bindings are missing or too old, the chip is absent,
an offset is past the chip's last line, or a line is busy (another program, a kernel driver, or an
export in sysfs hold it).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

OUTPUT, INPUT = 0, 1
CONSUMER = "portald"


class ChardevGpioDriver:
    name = "linux.gpio-chardev"

    def __init__(self, chip_path: str | os.PathLike[str], lines: list[int]):
        self._path = Path(chip_path)
        self._lines = list(lines)
        self._gpiod = self._chip = self._request = None

    def probe(self) -> bool:
        if not self._lines:
            log.debug("no [plugins.linux.gpio] lines configured")
            return False
        try:
            import gpiod
        except ImportError:
            log.debug("python gpiod bindings not installed")
            return False
        if not hasattr(gpiod, "LineSettings"):  # the v1 bindings (Debian's python3-libgpiod 1.x)
            log.warning("python gpiod %s is too old: the v2 bindings are needed", getattr(gpiod, "__version__", "1"))
            return False
        if not gpiod.is_gpiochip_device(str(self._path)):
            log.debug("%s is not a GPIO chip", self._path)
            return False
        try:
            self._open(gpiod)
        except (OSError, ValueError) as exc:
            log.warning("GPIO chip %s lines %s unusable: %s", self._path, self._lines, exc)
            return False
        return True

    def _open(self, gpiod) -> None:
        chip = gpiod.Chip(str(self._path))
        try:
            available = chip.get_info().num_lines
            beyond = [line for line in self._lines if line >= available]
            if beyond:
                raise ValueError(f"the chip has {available} lines; no line {beyond}")
            request = chip.request_lines({tuple(self._lines): gpiod.LineSettings()}, consumer=CONSUMER)
        except BaseException:
            chip.close()
            raise
        self._gpiod, self._chip, self._request = gpiod, chip, request

    def count(self) -> int:
        return len(self._lines)

    def read(self, pin: int) -> dict[str, int]:
        line = self._lines[pin]
        direction = self._chip.get_line_info(line).direction
        level = self._request.get_value(line)
        return {"dir": INPUT if direction == self._gpiod.line.Direction.INPUT else OUTPUT,
                "level": 1 if level == self._gpiod.line.Value.ACTIVE else 0}

    def set_dir(self, pin: int, direction: int) -> None:
        if self.read(pin)["dir"] == direction:
            return
        Direction, Value = self._gpiod.line.Direction, self._gpiod.line.Value
        if direction == INPUT:
            wanted = self._gpiod.LineSettings(direction=Direction.INPUT)
        else:
            wanted = self._gpiod.LineSettings(direction=Direction.OUTPUT, output_value=Value.INACTIVE)
        # The other requested lines get default ("as is") settings, which leave them untouched.
        self._request.reconfigure_lines({self._lines[pin]: wanted})

    def set_level(self, pin: int, level: int) -> None:
        Value = self._gpiod.line.Value
        self._request.set_value(self._lines[pin], Value.ACTIVE if level else Value.INACTIVE)

    def close(self) -> None:
        if self._request is not None:
            self._request.release()
            self._chip.close()
            self._request = self._chip = None
