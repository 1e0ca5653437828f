"""The process table as the spec's JSON rows (no Flask), collected by a background sampler.

Fields and units, per process:
  ``pid``; ``ppid`` (left out when 0, as in the spec's examples for PID 1 and kernel threads); ``name``;
  ``numThreads``; ``memUsage`` = resident set size in bytes; ``cpuPercent`` = percent of one CPU (can
  exceed 100 for a multi-threaded process); ``username`` (the real uid's name, or the uid as a string
  when it has none); ``elapsedTime`` = milliseconds since the process started; ``path`` = the executable
  and ``cmdline`` = the arguments joined by spaces, both left out when empty (kernel threads, zombies),
  as in the spec's examples.

The spec never states the unit of ``elapsedTime``. Its Windows example gives a process started after
``System`` a larger value than ``System`` by 2, which only makes sense in milliseconds measured one
process after the other (the spec's field names are gopsutil's JSON tags, and gopsutil gives creation
times in ms), so: ms. psutil derives start times from the kernel's boot time, which /proc/stat gives
to the whole second, so ``elapsedTime`` may be up to 1 s too large.

``cpuPercent`` is the CPU time used between the previous sample and this one, which is why the table
keeps its ``psutil.Process`` objects from one sample to the next (dropping the dead ones). A process
seen for the first time has no previous measurement; it gets its average since it started (what the
spec's examples show for every process) instead of a meaningless 0.

psutil reads the running kernel's /proc (``psutil.PROCFS_PATH``): these are real processes that
``DELETE`` signals, so the configured ``procfs_root`` does not apply.
"""
from __future__ import annotations

import json
import pwd
import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Snapshot:
    rows: list[dict]
    body: bytes  # rows as JSON, encoded once per sample rather than once per request


class ProcessTable:
    def __init__(self):
        self._procs: dict[int, psutil.Process] = {}

    @property
    def tracked(self) -> int:
        """How many processes are kept between samples (only those alive at the last sample)."""
        return len(self._procs)

    def __call__(self) -> Snapshot:
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
        return Snapshot(rows, json.dumps(rows, separators=(",", ":")).encode())


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
