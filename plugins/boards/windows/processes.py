"""The ``processes`` driver of the Windows board: the process table through psutil, and ending one
process.

``process_row()`` turns what psutil says of one process (``Process.as_dict()``, with ``None`` where
Windows refused) into the spec's row; the spec's own Windows example is the model: ``username`` is
``DOMAIN\\user`` as psutil gives it (``NT AUTHORITY\\SYSTEM``), ``elapsedTime`` milliseconds since the
process started, ``cpuPercent`` percent of one CPU since the previous read (on first sight: its average
since it started, as on Linux). What Windows will not tell (protected processes, another session's
processes when not elevated) is left at 0 / ``""``, and ``path``/``cmdline`` are left out.

Ending a process: Windows has no signals. psutil's ``terminate()`` and ``kill()`` both call
``TerminateProcess``: SIGTERM and SIGKILL end the process at once, with no chance to clean up. Refused:
the System Idle Process (PID 0) and System (PID 4), the daemon itself, and the processes whose end
stops Windows (csrss, wininit, smss, services, lsass, winlogon: Windows bugchecks when a critical
process ends). Processes have no uid on Windows: ``target()`` gives ``uid = -1``, which matches no
account, so only administrators may end a process.
"""
from __future__ import annotations

import os
import sys
import time

import psutil

from portald.drivers import DriverError, NotFound

CAPABILITY = "processes"

ATTRS = ["pid", "ppid", "name", "num_threads", "memory_info", "cpu_percent", "cpu_times", "username",
         "create_time", "exe", "cmdline"]
MAX_TARGETS = 64  # targets whose DELETE never came back to running()
NO_UID = -1  # what target() gives as the owner's uid: Windows accounts have SIDs, not uids
PROTECTED_PIDS = {0: "the System Idle Process", 4: "the System process"}
CRITICAL_NAMES = frozenset({"csrss.exe", "wininit.exe", "smss.exe", "services.exe", "lsass.exe", "winlogon.exe"})


def process_row(info: dict, now: float, first_seen: bool) -> dict:
    """The spec's row from ``psutil.Process.as_dict(ATTRS, ad_value=None)`` read at ``now`` (epoch s)."""
    started = info.get("create_time") or now
    percent = info.get("cpu_percent") or 0.0
    times = info.get("cpu_times")
    if first_seen and times is not None:  # cpu_percent's first call only records a baseline
        percent = round(100 * (times.user + times.system) / max(now - started, 0.001), 1)
    memory = info.get("memory_info")
    row = {"pid": info["pid"]}
    if info.get("ppid"):
        row["ppid"] = info["ppid"]
    row.update(name=info.get("name") or "", numThreads=info.get("num_threads") or 0,
               memUsage=memory.rss if memory is not None else 0, cpuPercent=percent,
               username=info.get("username") or "", elapsedTime=max(0, int((now - started) * 1000)))
    if info.get("exe"):
        row["path"] = info["exe"]
    cmdline = " ".join(info.get("cmdline") or ())
    if cmdline:
        row["cmdline"] = cmdline
    return row


def refusal(pid: int, name: str, own_pid: int) -> str | None:
    """Why ``pid`` (named ``name``) may not be ended, or None."""
    if pid in PROTECTED_PIDS:
        return f"PID {pid} is {PROTECTED_PIDS[pid]}"
    if pid == own_pid:
        return "portald does not kill itself"
    if name.lower() in CRITICAL_NAMES:
        return f"PID {pid} ({name}) is critical to Windows: ending it stops the machine"
    return None


class WindowsProcessesDriver:
    name = "windows.processes"
    blocking = True  # psutil opens every process in turn: blocking calls, thousands of them
    timeout_seconds = 10.0

    def __init__(self):
        self._procs: dict[int, psutil.Process] = {}
        self._targets: dict[tuple[int, float], psutil.Process] = {}

    def probe(self) -> bool:
        return sys.platform == "win32" and self.count() > 0

    def count(self) -> int:
        try:
            return len(psutil.pids())
        except OSError:
            return 0

    def read(self) -> list[dict]:
        alive: dict[int, psutil.Process] = {}
        rows = []
        now = time.time()
        for pid in sorted(psutil.pids()):
            proc = self._procs.get(pid)
            try:
                first_seen = proc is None or not proc.is_running()
                if first_seen:
                    proc = psutil.Process(pid)
                with proc.oneshot():
                    rows.append(process_row(proc.as_dict(ATTRS, ad_value=None), now, first_seen))
            except psutil.NoSuchProcess:
                continue
            alive[pid] = proc
        self._procs = alive
        return rows

    def target(self, pid: int) -> dict:
        try:
            proc = psutil.Process(pid)
            name, started = proc.name(), proc.create_time()
        except psutil.NoSuchProcess:
            raise NotFound(f"no process with PID {pid}") from None
        except psutil.AccessDenied:
            raise DriverError(f"portald is not allowed to inspect PID {pid}") from None
        reason = refusal(pid, name, os.getpid())
        if reason:
            raise DriverError(reason)
        while len(self._targets) >= MAX_TARGETS:
            del self._targets[next(iter(self._targets))]
        self._targets[pid, started] = proc
        return {"pid": pid, "name": name, "uid": NO_UID, "started": started}

    def signal(self, pid: int, started: float, signal: str) -> bool:
        proc = self._targets.get((pid, started))
        if proc is None or not proc.is_running():  # is_running() is false for a reused pid too
            return False
        try:
            proc.kill() if signal == "SIGKILL" else proc.terminate()  # both TerminateProcess
        except psutil.NoSuchProcess:
            return False
        except psutil.AccessDenied:
            raise DriverError(f"portald is not allowed to end PID {pid}") from None
        return True

    def running(self, pid: int, started: float) -> bool:
        proc = self._targets.get((pid, started))
        if proc is not None and proc.is_running():
            return True
        self._targets.pop((pid, started), None)
        return False


def create_driver(ctx, settings=None):
    return WindowsProcessesDriver()
