"""Eight simulated GPIO pins for the virtual board: pins 0-3 start as outputs driving low, pins 4-7 as
inputs. Directions and output levels are kept in the sim board's state folder (``gpio.json``) across
restarts, as a board's I/O expander keeps its latches.

An input pin reads as if wired to a pulse generator: pin ``n`` toggles every ``n + 1`` seconds (high
during odd periods of the clock), so a client sees inputs move without any client writing. Pins follow
the GPIO driver rules: a pin switched to output starts low; setting its own direction again changes
nothing; an input's level cannot be set (``OSError``). The clock is injected for tests.
"""
from __future__ import annotations

import errno
import time
from typing import Callable

from . import saved


COUNT = 8
OUTPUT, INPUT = 0, 1
FILE = "gpio.json"
DEFAULT = {"dir": [OUTPUT] * 4 + [INPUT] * 4, "level": [0] * COUNT}


def _load(state) -> dict[str, list[int]]:
    return saved.load(state, FILE, "GPIO", DEFAULT, lambda data: isinstance(data, dict) and set(data) == set(DEFAULT) and all(
        isinstance(values, list) and len(values) == COUNT and all(type(v) is int and v in (0, 1) for v in values)
        for values in data.values()))


class SimGpioDriver:
    name = "sim.gpio"

    def __init__(self, state, clock: Callable[[], float] = time.monotonic):
        self._state = state
        self._clock = clock
        saved = _load(state)
        self._dir, self._level = list(saved["dir"]), list(saved["level"])

    def probe(self) -> bool:
        return True

    def count(self) -> int:
        return COUNT

    def read(self, pin: int) -> dict[str, int]:
        if self._dir[pin] == OUTPUT:
            return {"dir": OUTPUT, "level": self._level[pin]}
        return {"dir": INPUT, "level": int(self._clock() // (pin + 1)) % 2}

    def set_dir(self, pin: int, direction: int) -> None:
        if self._dir[pin] == direction:
            return
        self._save(pin, direction, 0)

    def set_level(self, pin: int, level: int) -> None:
        if self._dir[pin] != OUTPUT:
            raise OSError(errno.EPERM, f"pin {pin} is an input")
        self._save(pin, OUTPUT, level)

    def _save(self, pin: int, direction: int, level: int) -> None:
        dirs, levels = list(self._dir), list(self._level)
        dirs[pin], levels[pin] = direction, level
        self._state.write_json(FILE, {"dir": dirs, "level": levels})
        self._dir, self._level = dirs, levels


CAPABILITY = "gpio"


def create_driver(ctx, settings=None):
    return SimGpioDriver(ctx.state)
