"""The ``processes`` driver of the generic Linux board: the process table from ``<procfs_root>`` (psutil,
whose ``PROCFS_PATH`` the core points at the configured root), and signals to one process.

The table, per process: ``pid``; ``ppid`` (left out when 0); ``name``; ``numThreads``; ``memUsage`` =
resident set size in bytes; ``cpuPercent`` = percent of one CPU (can exceed 100 for a multi-threaded
process); ``username`` (the real uid's name, or the uid as a string when it has none); ``elapsedTime`` =
milliseconds since the process started; ``path`` = the executable and ``cmdline`` = the arguments joined
by spaces, both left out when empty (kernel threads, zombies), as in the spec's examples.

The spec never states the unit of ``elapsedTime``. Its Windows example gives a process started after
``System`` a larger value than ``System`` by 2, which only makes sense in milliseconds measured one
process after the other (the spec's field names are gopsutil's JSON tags, and gopsutil gives creation
times in ms), so: ms. psutil derives start times from the kernel's boot time, which /proc/stat gives
to the whole second, so ``elapsedTime`` may be up to 1 s too large.

``cpuPercent`` is the CPU time used between the previous read and this one, which is why the driver
keeps its ``psutil.Process`` objects from one read to the next (dropping the dead ones). A process
seen for the first time has no previous measurement; it gets its average since it started (what the
spec's examples show for every process) instead of a meaningless 0.

Signals go to real processes, so they are sent only when ``<procfs_root>`` is the live kernel's procfs
(its ``self`` and ``thread-self`` links name this process and thread): a fixture tree's pids are read,
never signalled. Refused for
everyone: PID 1, the daemon itself, kernel threads (they ignore both signals), zombies (already exited),
and thread ids (``/proc/<tid>`` answers for a thread too, and signalling a thread signals its whole
process: PID 1's or the daemon's own threads would slip past the checks).
"""
from __future__ import annotations

import os
import pwd
import signal as signals
import threading
import time
from pathlib import Path

import psutil

from portald.drivers import DriverError, NotFound

CAPABILITY = "processes"

PID_MAX_LIMIT = 4 * 1024 * 1024  # the kernel's ceiling for /proc/sys/kernel/pid_max on 64-bit
SIGNALS = {"SIGTERM": signals.SIGTERM, "SIGKILL": signals.SIGKILL}
MAX_TARGETS = 64


class LinuxProcessesDriver:
    name = "linux.processes"
    blocking = True  # a walk of /proc costs ~0.1 ms per process in blocking syscalls
    timeout_seconds = 10.0  # a walk of thousands of processes on a slow board

    def __init__(self, procfs_root: str | Path):
        self.procfs = Path(procfs_root)
        self._procs: dict[int, psutil.Process] = {}
        # what target() found, for signal() and running(): psutil's Process knows its process by pid
        # and start time since boot, so a pid given to another process meanwhile is never signalled
        self._targets: dict[tuple[int, float], psutil.Process] = {}

    @property
    def tracked(self) -> int:
        """How many processes are kept between reads (only those alive at the last read)."""
        return len(self._procs)

    def probe(self) -> bool:
        return self.count() > 0

    def count(self) -> int:
        try:
            return len(psutil.pids())
        except (OSError, IndexError):  # psutil indexes the first pid: a procfs without any raises
            return 0

    # -- the table ---------------------------------------------------------------------------------
    def read(self) -> list[dict]:
        alive: dict[int, psutil.Process] = {}
        users: dict[int, str] = {}
        rows = []
        now = time.time()
        for pid in psutil.pids():
            proc = self._procs.get(pid)
            try:
                first_seen = proc is None or not proc.is_running()  # not running: the pid was reused
                if first_seen:
                    proc = psutil.Process(pid)
                rows.append(_row(proc, now, first_seen, users))
            except psutil.NoSuchProcess:  # exited while we looked (ZombieProcess is handled in _row)
                continue
            alive[pid] = proc
        self._procs = alive
        return rows

    # -- signals -----------------------------------------------------------------------------------
    def _live(self) -> bool:
        """Whether ``procfs_root`` is the live kernel's procfs: its ``self`` and ``thread-self`` links
        name this process and the calling thread, which no copied tree can (a fixture's ``self`` link
        may happen to hold this pid; its ``thread-self`` would also need this very thread's id)."""
        pid = os.getpid()
        try:
            return (os.readlink(self.procfs / "self") == str(pid)
                    and os.readlink(self.procfs / "thread-self") == f"{pid}/task/{threading.get_native_id()}")
        except OSError:
            return False

    def target(self, pid: int) -> dict:
        if not self._live():
            raise DriverError(f"processes are only signalled through the live /proc, and {self.procfs} is not it")
        if pid == 1:
            raise DriverError("PID 1 (init) cannot be killed")
        if pid == os.getpid():
            raise DriverError("portald does not kill itself")
        try:
            # /proc's listing (pids()) holds process ids only, never thread ids
            if pid > PID_MAX_LIMIT or pid not in psutil.pids():
                raise psutil.NoSuchProcess(pid)
            proc = psutil.Process(pid)
            with proc.oneshot():
                found = {"pid": pid, "name": proc.name(), "uid": proc.uids().real, "started": proc.create_time()}
                status, kernel_thread = proc.status(), _kernel_thread(proc)
        except psutil.NoSuchProcess:
            raise NotFound(f"no process with PID {pid}") from None
        except psutil.AccessDenied:
            raise DriverError(f"portald is not allowed to inspect PID {pid}") from None
        if kernel_thread:
            raise DriverError(f"PID {pid} is a kernel thread")
        if status == psutil.STATUS_ZOMBIE:
            raise DriverError(f"PID {pid} has already exited (a zombie its parent has not reaped)")
        while len(self._targets) >= MAX_TARGETS:  # targets whose DELETE never came back to running()
            del self._targets[next(iter(self._targets))]
        self._targets[pid, found["started"]] = proc
        return found

    def _process(self, pid: int, started: float) -> psutil.Process | None:
        """That very process, or None when it has gone (or target() never returned it)."""
        proc = self._targets.get((pid, started))
        if proc is not None and not proc.is_running():  # is_running() is false for a reused pid too
            del self._targets[pid, started]
            return None
        return proc

    def signal(self, pid: int, started: float, signal: str) -> bool:
        if not self._live():
            raise DriverError(f"processes are only signalled through the live /proc, and {self.procfs} is not it")
        proc = self._process(pid, started)
        if proc is None:
            return False
        try:
            proc.send_signal(SIGNALS[signal])  # psutil checks again that the pid is still this process
        except psutil.NoSuchProcess:
            return False
        except psutil.AccessDenied:
            raise DriverError(f"portald is not allowed to signal PID {pid}") from None
        return True

    def running(self, pid: int, started: float) -> bool:
        proc = self._process(pid, started)
        try:
            if proc is not None and proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            pass
        self._targets.pop((pid, started), None)
        return False


def _kernel_thread(proc: psutil.Process) -> bool:
    """kthreadd is PID 2 and the parent of every kernel thread; in a PID namespace, PID 2 is whatever
    started second, hence the name check."""
    if proc.pid != 2 and proc.ppid() != 2:
        return False
    try:
        return psutil.Process(2).name() == "kthreadd"
    except psutil.NoSuchProcess:
        return False


def _username(uid: int, cache: dict[int, str]) -> str:
    if uid not in cache:
        try:
            cache[uid] = pwd.getpwuid(uid).pw_name
        except KeyError:
            cache[uid] = str(uid)
    return cache[uid]


def _optional(getter) -> str:
    try:
        return getter()
    except (psutil.AccessDenied, psutil.ZombieProcess):
        return ""


def _row(proc: psutil.Process, now: float, first_seen: bool, users: dict[int, str]) -> dict:
    with proc.oneshot():
        started = proc.create_time()
        percent = proc.cpu_percent(None)  # the first call only records the baseline and says 0.0
        if first_seen:
            times = proc.cpu_times()
            percent = round(100 * (times.user + times.system) / max(now - started, 0.001), 1)
        row = {"pid": proc.pid}
        ppid = proc.ppid()
        if ppid:
            row["ppid"] = ppid
        row.update(name=proc.name(), numThreads=proc.num_threads(), memUsage=proc.memory_info().rss,
                   cpuPercent=percent, username=_username(proc.uids().real, users),
                   elapsedTime=max(0, int((now - started) * 1000)))
        path = _optional(proc.exe)
        cmdline = " ".join(_optional(proc.cmdline) or ())
        if path:
            row["path"] = path
        if cmdline:
            row["cmdline"] = cmdline
        return row


def create_driver(ctx, settings=None):
    return LinuxProcessesDriver(ctx.paths.procfs_root)
