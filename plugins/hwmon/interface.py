"""The ``hwmon`` driver interface: temperatures, voltages, currents and fan speeds."""
from __future__ import annotations

from typing import Literal, Protocol, TypedDict

from portald.drivers import Driver


class Reading(TypedDict):
    name: str  # unique within its kind; what a person reads ("CPU", "nct6775 in0")
    value: int | float  # in ``unit``, at the hardware's full resolution (792 mV is 0.792, never 0.79)
    unit: Literal["Celsius", "Volt", "A", "RPM"]


class Readings(TypedDict):
    temperature: list[Reading]  # Celsius
    voltage: list[Reading]  # Volt
    current: list[Reading]  # A (ampere)
    fanspeed: list[Reading]  # RPM, integers


class HwmonDriver(Driver, Protocol):
    """Reads every sensor of the board at once.

    ``probe()`` is true when at least one sensor reads. Linux's hwmon reaches super-I/O chips and
    BMCs over I2C/SMBus, which can stall: such a driver sets ``blocking = True`` and the core runs
    ``read()`` in the threadpool, bounded by the daemon's driver timeout.
    """

    def read(self) -> Readings:
        """All four kinds, each a list (empty when the board has none of that kind), in a stable
        order. A sensor that cannot be read this time is left out, never raised; raise ``OSError``
        only when nothing at all can be read."""
        ...
