"""Simulated hwmon sensors for a virtual board, so portald runs without hardware.

This module owns ``SimHwmonDriver``. Its ``read()`` returns the same shape as
the Linux hwmon driver: ``{"temperature": [...], "voltage": [...], "current":
[...], "fanspeed": [...]}`` with ``{"name", "value", "unit"}`` entries.

Each channel is a mean-reverting random walk (an Ornstein-Uhlenbeck process),
stepped with its exact solution over the time elapsed since the previous read,
then clamped to the channel's limits. Using the exact solution means any gap,
from microseconds to days, keeps the long-run spread the same, and a zero gap
(two reads at the same instant) changes nothing. The fan speed follows the CPU
temperature linearly, plus its own small random walk.

Randomness and time are injected (``rng``, ``clock``), so tests are deterministic.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Callable

UNITS = {"temperature": "Celsius", "voltage": "Volt", "current": "A", "fanspeed": "RPM"}


@dataclass(frozen=True)
class _Walk:
    kind: str
    name: str
    mean: float
    spread: float  # long-run standard deviation around the mean
    tau: float  # seconds for a deviation to decay to 1/e
    low: float
    high: float


_CHANNELS = (
    _Walk("temperature", "CPU", 50.0, 8.0, 60.0, 35.0, 85.0),
    _Walk("voltage", "VCore", 1.0, 0.05, 10.0, 0.8, 1.2),
    _Walk("voltage", "12V", 12.0, 0.12, 30.0, 11.4, 12.6),
    _Walk("voltage", "5V Standby", 5.0, 0.05, 30.0, 4.75, 5.25),
    # a coin cell discharges over years: drift on the scale of a day
    _Walk("voltage", "CMOS Battery", 3.05, 0.03, 86400.0, 2.9, 3.2),
    _Walk("current", "OEM0", 0.7, 0.2, 20.0, 0.2, 1.5),
)
# Fan speed = linear map of the CPU temperature range onto the fan range, plus
# this wobble (fan controllers hunt around their target).
_FAN_WOBBLE = _Walk("fanspeed", "FAN0", 0.0, 60.0, 15.0, -300.0, 300.0)
_FAN_LOW, _FAN_HIGH = 900, 3000


class SimHwmonDriver:
    name = "sim.hwmon"

    def __init__(
        self,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._rng = rng if rng is not None else random.Random()
        self._clock = clock
        self._last = clock()
        self._state = {walk.name: walk.mean for walk in (*_CHANNELS, _FAN_WOBBLE)}

    def probe(self) -> bool:
        return True

    def read(self) -> dict[str, list[dict]]:
        now = self._clock()
        elapsed, self._last = max(0.0, now - self._last), now
        if elapsed > 0:
            for walk in (*_CHANNELS, _FAN_WOBBLE):
                self._state[walk.name] = self._step(walk, self._state[walk.name], elapsed)

        result: dict[str, list[dict]] = {kind: [] for kind in UNITS}
        for walk in _CHANNELS:
            value = round(self._state[walk.name], 2)
            result[walk.kind].append({"name": walk.name, "value": value, "unit": UNITS[walk.kind]})
        result["fanspeed"].append({"name": "FAN0", "value": self._fan_rpm(), "unit": "RPM"})
        return result

    def _step(self, walk: _Walk, value: float, elapsed: float) -> float:
        decay = math.exp(-elapsed / walk.tau)
        noise = walk.spread * math.sqrt(1.0 - decay * decay) * self._rng.gauss(0.0, 1.0)
        value = walk.mean + (value - walk.mean) * decay + noise
        return min(walk.high, max(walk.low, value))

    def _fan_rpm(self) -> int:
        cpu = next(walk for walk in _CHANNELS if walk.name == "CPU")
        share = (self._state["CPU"] - cpu.low) / (cpu.high - cpu.low)
        rpm = _FAN_LOW + share * (_FAN_HIGH - _FAN_LOW) + self._state["FAN0"]
        return int(round(min(_FAN_HIGH, max(_FAN_LOW, rpm))))


CAPABILITY = "hwmon"


def create_driver(ctx, settings=None):
    return SimHwmonDriver()
