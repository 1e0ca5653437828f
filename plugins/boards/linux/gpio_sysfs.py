"""GPIO lines through the legacy sysfs interface, ``<sysfs>/class/gpio`` (deprecated by the kernel but
still what many industrial images use).

Owns the mapping of the configured chip and line offsets to the kernel's global GPIO numbers, and
nothing else: it reads and writes ``gpio<N>/direction`` and ``gpio<N>/value`` of exported lines, and
exports (writes ``<N>`` to ``export``) a configured line that is not exported yet, once, when it
probes. It never unexports: the start-up scripts of the machine may rely on the export.

Kernel layout: each chip has a legacy class device ``gpiochip<base>`` (``base``, ``ngpio``, ``label``)
whose ``device`` link leads to the chip's parent device, which also holds the character device's
``gpiochipN``; that is how the configured chip name (``gpiochip0``) finds its base. Line ``offset`` is
``gpio<base + offset>``. ``direction`` reads ``in`` or ``out``; ``value`` reads ``0``/``1`` as the
logical level (inverted when ``active_low`` is 1). Writing ``out`` to ``direction`` drives the wire
low, ``high`` drives it high.
"""
from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from .sysfs import read_attr as _read

log = logging.getLogger(__name__)

OUTPUT, INPUT = 0, 1


def _write(path: Path, text: str) -> None:
    path.write_text(f"{text}\n", encoding="ascii")


class SysfsGpioDriver:
    name = "linux.gpio-sysfs"

    def __init__(self, class_dir: str | os.PathLike[str], chip: str, lines: list[int]):
        self._class_dir = Path(class_dir)
        self._chip = chip
        self._lines = list(lines)
        self._numbers: list[int] = []

    def probe(self) -> bool:
        if not self._lines:
            log.debug("no [plugins.linux.gpio] lines configured")
            return False
        chip_dir = self._find_chip()
        if chip_dir is None:
            log.debug("no legacy sysfs GPIO chip for %s under %s", self._chip, self._class_dir)
            return False
        try:
            base, ngpio = int(_read(chip_dir / "base")), int(_read(chip_dir / "ngpio"))
        except (OSError, ValueError) as exc:
            log.warning("GPIO chip %s unreadable: %s", chip_dir, exc)
            return False
        beyond = [line for line in self._lines if line >= ngpio]
        if beyond:
            log.warning("GPIO chip %s has %d lines; no line %s", self._chip, ngpio, beyond)
            return False
        self._numbers = [base + line for line in self._lines]
        for number in self._numbers:
            if not self._line_dir(number).exists():
                self._export(number)
        return True

    def _find_chip(self) -> Path | None:
        try:
            chips = sorted(self._class_dir.glob("gpiochip*"))
        except OSError:
            return None
        for entry in chips:
            parent = entry / "device"
            # A chip registered without a parent device hangs its class device under the chip itself.
            if (parent / self._chip).is_dir() or parent.resolve().name == self._chip:
                return entry
        return None

    def _export(self, number: int) -> None:
        try:
            _write(self._class_dir / "export", str(number))
            log.info("exported GPIO %d", number)
        except OSError as exc:  # EBUSY: a kernel driver or a character-device user holds the line
            log.warning("cannot export GPIO %d: %s", number, exc.strerror or exc)

    def _line_dir(self, number: int) -> Path:
        return self._class_dir / f"gpio{number}"

    def _line(self, pin: int) -> Path:
        folder = self._line_dir(self._numbers[pin])
        if not folder.is_dir():
            raise OSError(errno.ENOENT, f"GPIO line {self._lines[pin]} is not exported")
        return folder

    def count(self) -> int:
        return len(self._lines)

    def read(self, pin: int) -> dict[str, int]:
        folder = self._line(pin)
        direction, value = _read(folder / "direction"), _read(folder / "value")
        if direction not in ("in", "out") or value not in ("0", "1"):
            raise OSError(errno.EIO, f"unexpected direction {direction[:10]!r} or value {value[:10]!r}")
        return {"dir": INPUT if direction == "in" else OUTPUT, "level": int(value)}

    def set_dir(self, pin: int, direction: int) -> None:
        if self.read(pin)["dir"] == direction:
            return
        folder = self._line(pin)
        if direction == INPUT:
            _write(folder / "direction", "in")
            return
        # "out" drives the wire low, which is logical high on an active-low line; "high" starts such a
        # line logically low in the same write, with no glitch between two writes.
        active_low = (folder / "active_low").exists() and _read(folder / "active_low") == "1"
        _write(folder / "direction", "high" if active_low else "out")

    def set_level(self, pin: int, level: int) -> None:
        _write(self._line(pin) / "value", "1" if level else "0")

    def close(self) -> None:
        """Nothing to release: exported lines keep their state."""
