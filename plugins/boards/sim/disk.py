"""A simulated disk for the virtual board: one 64 GB SATA SSD ``sda`` with a root partition.

This module owns ``SimDiskDriver`` (the ``disk`` capability, same shapes as the Linux driver). It
behaves like a drive that lives on between daemon runs, through ``ctx.state`` (``disk.json``):

* the root filesystem's used space wanders slowly around 40% (a mean-reverting random walk with a
  six-hour time constant, stepped with its exact solution over the time since the last read, as the
  sim hwmon sensors are);
* S.M.A.R.T.: power-on hours grow with the time the daemon runs, the power-cycle count grows by one
  per daemon start, the temperature wanders around 38 degC, reallocated sectors stay 0;
* I/O counters (``io_counters()``): each daemon start is a power cycle, so they start from what a boot
  reads and writes and grow with the time the daemon runs, at the rates of a light edge workload
  (~12 reads and ~6 writes a second, ~380 KiB/s read and ~100 KiB/s written) that swing +-50 % over
  five minutes (a sine integrated exactly between two readings: no randomness, never backwards).

Time and randomness are injected (``clock``, ``rng``) so tests are deterministic. State is saved at
most once a minute (and at the first reading), so a crash loses under a minute of power-on time.
"""
from __future__ import annotations

import math
import random
import time
from typing import Callable

DISK_BYTES = 125045424 * 512  # a 64 GB SSD's sector count
FS_BYTES = 63208157184  # its root filesystem (the spec example's "C:")
SAVE_EVERY = 60.0
_USED_MEAN, _USED_SPREAD, _USED_TAU = 0.40 * FS_BYTES, 0.02 * FS_BYTES, 6 * 3600.0
_TEMP_MEAN, _TEMP_SPREAD, _TEMP_TAU = 38.0, 3.0, 120.0
# I/O counter -> (its value after the boot, its mean growth per second); times: an SSD's ~0.2 ms a read,
# ~0.6 ms a write
_IO = {
    "readsCompleted": (4100.0, 12.0), "writesCompleted": (350.0, 6.0),
    "readBytes": (4100 * 30720.0, 12 * 32768.0), "writtenBytes": (350 * 8192.0, 6 * 16384.0),
    "readTimeSeconds": (4100 * 0.0002, 12 * 0.0002), "writeTimeSeconds": (350 * 0.0006, 6 * 0.0006),
}
_IO_PERIOD, _IO_SWING = 300.0, 0.5


class SimSmart:
    """The sim disk's S.M.A.R.T. reader (``SimDiskDriver.smart``, the interface's ``SmartReader``)."""

    def __init__(self, disk: "SimDiskDriver"):
        self._disk = disk

    def attributes(self, name: str) -> list[dict] | None:
        return self._disk.smart_attributes(name)


class SimDiskDriver:
    name = "sim.disk"

    def __init__(self, state=None, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self._store, self._rng, self._clock = state, rng or random.Random(), clock
        power_on_seconds, power_cycles, used = _load(state)
        self._power_on_seconds, self._power_cycles = power_on_seconds, power_cycles + 1
        self._used = min(0.95 * FS_BYTES, max(0.05 * FS_BYTES, used))
        self._temperature = _TEMP_MEAN
        self._coolest = self._hottest = self._temperature
        self._last = self._saved_at = clock()
        self._io = {key: start for key, (start, _) in _IO.items()}
        self._dirty = True
        self.smart = SimSmart(self)

    def probe(self) -> bool:
        return True

    def disks(self) -> list[dict]:
        self._advance()
        used = int(self._used)
        return [{
            "name": "sda", "sizeBytes": DISK_BYTES, "physicalBlockSizeBytes": 512, "removable": False,
            "vendor": "ATA", "model": "SQF-S25M4-64G-S9C", "serialNumber": "SIM0000000000DISK0001",
            "firmwareRevision": "A028", "mediaType": "Fixed hard disk media",
            "partitions": [{"mountPoint": "/", "sizeBytes": FS_BYTES, "freeBytes": FS_BYTES - used,
                            "usedBytes": used, "usedPercent": used / FS_BYTES * 100, "readOnly": False}],
        }]

    def smart_attributes(self, name: str) -> list[dict]:
        if name != "sda":
            return []
        self._advance()
        hours = int(self._power_on_seconds // 3600)
        temp, low, high = (int(round(t)) for t in (self._temperature, self._coolest, self._hottest))
        return [
            _attribute(1, "Raw Read Error Rate", 0x0B, 100, 100, 50, 0),
            _attribute(5, "Reallocated Sector Ct", 0x33, 100, 100, 10, 0),
            _attribute(9, "Power On Hours", 0x12, 100, 100, 0, hours),
            _attribute(12, "Power Cycle Count", 0x12, 100, 100, 0, self._power_cycles),
            # raw bytes 0, 2, 4: current, lowest and highest temperature, as drives encode it
            _attribute(194, "Temperature Celsius", 0x23, 100 - temp, 100 - high, 0, temp | low << 16 | high << 32),
        ]

    def io_counters(self) -> list[dict]:
        self._advance()
        io = self._io
        return [{"device": "sda", **{key: int(io[key]) for key in ("readsCompleted", "writesCompleted",
                                                                  "readBytes", "writtenBytes")},
                 "readTimeSeconds": io["readTimeSeconds"], "writeTimeSeconds": io["writeTimeSeconds"]}]

    def _advance(self) -> None:
        now = self._clock()
        before = self._last
        elapsed, self._last = max(0.0, now - self._last), now
        if elapsed > 0:
            # the integral of 1 + swing * sin(2 pi t / period) from before to now: > 0 for any elapsed time
            omega = 2 * math.pi / _IO_PERIOD
            work = elapsed - _IO_SWING / omega * (math.cos(omega * now) - math.cos(omega * before))
            for key, (_, rate) in _IO.items():
                self._io[key] += rate * max(0.0, work)
            self._power_on_seconds += elapsed
            self._used = self._step(self._used, _USED_MEAN, _USED_SPREAD, _USED_TAU, elapsed)
            self._used = min(0.95 * FS_BYTES, max(0.05 * FS_BYTES, self._used))
            temperature = self._step(self._temperature, _TEMP_MEAN, _TEMP_SPREAD, _TEMP_TAU, elapsed)
            self._temperature = min(70.0, max(25.0, temperature))
            self._hottest = max(self._hottest, self._temperature)
            self._coolest = min(self._coolest, self._temperature)
        if self._store is not None and (self._dirty or now - self._saved_at >= SAVE_EVERY):
            self._store.write_json("disk.json", {"power_on_seconds": self._power_on_seconds,
                                                 "power_cycles": self._power_cycles,
                                                 "used_bytes": int(self._used)})
            self._saved_at, self._dirty = now, False

    def _step(self, value: float, mean: float, spread: float, tau: float, elapsed: float) -> float:
        decay = math.exp(-elapsed / tau)
        noise = spread * math.sqrt(1.0 - decay * decay) * self._rng.gauss(0.0, 1.0)
        return mean + (value - mean) * decay + noise


def _load(state) -> tuple[float, int, float]:
    """Power-on seconds, power cycles and used bytes saved by the previous run (a new drive's otherwise)."""
    try:
        saved = state.read_json("disk.json", {}) if state is not None else {}
        return (float(saved.get("power_on_seconds", 1234 * 3600.0)), int(saved.get("power_cycles", 97)),
                float(saved.get("used_bytes", _USED_MEAN)))
    except (ValueError, TypeError, AttributeError):  # a torn or hand-edited file: start as a fresh drive
        return 1234 * 3600.0, 97, _USED_MEAN


def _attribute(id_: int, name: str, flags: int, value: int, worst: int, threshold: int, raw: int) -> dict:
    return {"id": id_, "name": name, "statusFlags": flags, "value": value, "worst": worst,
            "threshold": threshold, "rawData": list(raw.to_bytes(6, "little"))}


CAPABILITY = "disk"


def create_driver(ctx, settings=None):
    return SimDiskDriver(ctx.state)
