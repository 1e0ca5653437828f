"""The ``processes`` driver interface: the process table, and signalling one process."""
from __future__ import annotations

from typing import Literal, NotRequired, Protocol, TypedDict

from portald.drivers import Driver

Signal = Literal["SIGTERM", "SIGKILL"]


class ProcessRow(TypedDict):
    """One process, in the spec's field names and units."""

    pid: int
    ppid: NotRequired[int]  # left out when 0 (PID 1, kernel threads), as in the spec's examples
    name: str
    numThreads: int
    memUsage: int  # resident set size, bytes
    cpuPercent: float  # percent of one CPU since the previous read() (can exceed 100); see read()
    username: str  # the real uid's account name, or the uid as a string when it has none
    elapsedTime: int  # milliseconds since the process started
    path: NotRequired[str]  # the executable; left out when empty (kernel threads, zombies)
    cmdline: NotRequired[str]  # the arguments joined by spaces; left out when empty


class KillTarget(TypedDict):
    """A process that may be signalled, as ``target()`` found it."""

    pid: int
    name: str
    uid: int  # the real uid of its owner (the plugin decides who may signal it)
    started: float  # its start time, seconds since the epoch: with ``pid``, names this process even
    # after it has exited and its pid has been given to another


class ProcessesDriver(Driver, Protocol):
    """The OS's processes behind ``/platform/api/processes`` (and the ``processes`` event) and
    ``DELETE /platform/api/processes/:pid``.

    ``read()`` walks the whole process table (on Linux ~0.1 ms per process in /proc), so a driver sets
    ``blocking = True``; the plugin calls it from one background sampler, never per request. Signals
    are real: a driver refuses to signal anything but the live system's processes (``DriverError``,
    e.g. when its process table is a fixture tree). Every ``DriverError`` carries a message for the
    client (answered 422 ``{"errors": {"Processes": ...}}``). Who may signal whose process is the
    plugin's rule, not the driver's.
    """

    def read(self) -> list[ProcessRow]:
        """Every process, in pid order. ``cpuPercent`` is measured between this call and the previous
        one; a process not seen before gets its average since it started."""
        ...

    def count(self) -> int:
        """How many processes there are (cheap: a directory listing, not a walk)."""
        ...

    def target(self, pid: int) -> KillTarget:
        """The process ``pid`` names, checked for being one that may be signalled at all. Raises
        ``DriverError`` (``NotFound`` when there is no such process — a thread id is none) for PID 1,
        the daemon itself, kernel threads and zombies, saying why."""
        ...

    def signal(self, pid: int, started: float, signal: Signal) -> bool:
        """Send ``signal`` to the process ``target()`` returned; False when it has already gone (its
        pid may now be another's: that one is not signalled). ``DriverError`` when the OS refuses."""
        ...

    def running(self, pid: int, started: float) -> bool:
        """Whether that process still runs: False once it has exited, zombies included (only its
        parent can remove a zombie's entry)."""
        ...
