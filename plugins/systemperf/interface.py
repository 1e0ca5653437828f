"""The ``systemperf`` driver interface: what the CPU is, how busy each logical CPU is, and memory."""
from __future__ import annotations

from typing import Protocol, TypedDict

from portald.drivers import Driver


class CpuInfo(TypedDict):
    """The first logical CPU (processor 0), in the spec's field names."""

    cpu: int  # its number
    vendorId: str  # "GenuineIntel", "ARM", ...
    family: str
    model: str
    stepping: int
    physicalId: str  # the package (socket) it sits in; "" when unknown
    coreId: str  # its core within the package; "" when unknown
    cores: int  # cores per package
    modelName: str  # "Intel(R) Xeon(R) ...", "Cortex-A72"
    mhz: float  # its current clock in MHz, else its maximum; 0 when unknown
    cacheSize: int  # KB; 0 when unknown
    flags: list[str]  # feature flags
    microcode: str  # microcode revision; "" when none


class Memory(TypedDict):
    """Bytes, except ``usedPercent``."""

    total: int
    available: int  # what can be given to programs without swapping
    used: int
    usedPercent: float  # 0..100
    free: int
    active: int
    inactive: int
    buffers: int
    cached: int
    shared: int
    slab: int


class SystemperfDriver(Driver, Protocol):
    """CPU and memory figures behind ``/platform/api/systemperf*`` and the ``systemperf`` event.

    The plugin's sampler calls the three methods together every few seconds while someone reads, never
    per request. ``probe()`` is true when ``cpu_info()`` answers. A driver whose reads can be slow (an
    x86 kernel interrupts every CPU to report ``cpu MHz``) sets ``blocking = True``. Each method raises
    ``OSError`` when its figures cannot be read (the endpoints then answer 404 "no available data").
    """

    def cpu_info(self) -> CpuInfo:
        """The description of the first logical CPU, read anew (the clock moves)."""
        ...

    def usage(self) -> list[float]:
        """Per logical CPU, the percentage of time it was busy (0..100, one decimal) since the previous
        call; the first call (or the first after a CPU came or went) gives the average since boot."""
        ...

    def memory(self) -> Memory:
        """The memory figures now."""
        ...
