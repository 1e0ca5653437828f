"""The ``systemperf`` driver interface: what the CPU is, how busy each logical CPU is, the time each
has spent in each mode, and memory."""
from __future__ import annotations

from typing import NotRequired, Protocol, TypedDict

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


class CpuTimes(TypedDict):
    """Seconds one logical CPU has spent in each mode since boot (counters: they only grow, until a
    reboot), in node_exporter's modes. A mode the OS does not count is left out, never given as 0
    (Windows has no ``nice``, ``iowait`` or ``steal``; kernels before 2.6.11 no ``steal``)."""

    cpu: int  # the CPU's number as the OS numbers it (an offline CPU is missing, not renumbered)
    user: float  # guest time is inside it (Linux counts a guest's time as user time too)
    nice: NotRequired[float]
    system: float
    idle: float
    iowait: NotRequired[float]
    irq: NotRequired[float]  # hardware interrupts (Windows: interrupt time)
    softirq: NotRequired[float]  # deferred interrupt work (Windows: DPC time)
    steal: NotRequired[float]  # time the hypervisor gave another guest


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

    __optional__ = ("cpu_times",)

    def cpu_times(self) -> list[CpuTimes]:
        """Optional. Per logical CPU, in the OS's order, the seconds spent in each mode since boot,
        read anew at each call (cheap: one small read, no waiting). ``GET /metrics`` calls it at each
        scrape (``node_cpu_seconds_total``), through the threadpool for a ``blocking`` driver. Raises
        ``OSError`` when the counters cannot be read (the scrape then has no such series)."""
        ...
