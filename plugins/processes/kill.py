"""Ending a process: SIGTERM, then SIGKILL after a grace period (no Flask).

The waiting polls with ``gevent.sleep``, so a process taking its whole grace period to exit holds only
its own request, never the daemon. A process counts as gone once it is a zombie: it has exited, and
only its parent (which may never call wait()) can remove the entry.
"""
from __future__ import annotations

import os
import signal
import time

import gevent
import psutil

PID_MAX_LIMIT = 4 * 1024 * 1024  # the kernel's ceiling for /proc/sys/kernel/pid_max on 64-bit
KILL_WAIT_SECONDS = 2.0  # after SIGKILL: only an uninterruptible sleep (D state) outlasts this
POLL_SECONDS = 0.05


class KillRefused(Exception):
    """This process cannot or may not be killed (the message says why, for the client)."""


def target(pid: int) -> psutil.Process:
    """The process to kill, or KillRefused for one that does not exist or must never be killed."""
    if pid == 1:
        raise KillRefused("PID 1 (init) cannot be killed")
    if pid == os.getpid():
        raise KillRefused("portald does not kill itself")
    try:
        # /proc/<n> also answers for a thread id n, and signalling a thread signals its whole process:
        # PID 1's or portald's own threads would slip past the checks above. /proc's listing (pids())
        # holds process ids only.
        if pid > PID_MAX_LIMIT or pid not in psutil.pids():
            raise psutil.NoSuchProcess(pid)
        proc = psutil.Process(pid)
        status, kernel_thread = proc.status(), _kernel_thread(proc)
    except psutil.NoSuchProcess:
        raise KillRefused(f"no process with PID {pid}") from None
    if kernel_thread:  # it would ignore both signals
        raise KillRefused(f"PID {pid} is a kernel thread")
    if status == psutil.STATUS_ZOMBIE:
        raise KillRefused(f"PID {pid} has already exited (a zombie its parent has not reaped)")
    return proc


def _kernel_thread(proc: psutil.Process) -> bool:
    """kthreadd is PID 2 and the parent of every kernel thread; in a PID namespace, PID 2 is whatever
    started second, hence the name check."""
    if proc.pid != 2 and proc.ppid() != 2:
        return False
    try:
        return psutil.Process(2).name() == "kthreadd"
    except psutil.NoSuchProcess:
        return False


def _gone_within(proc: psutil.Process, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() >= deadline:
            return False
        gevent.sleep(POLL_SECONDS)


def stop(proc: psutil.Process, grace: float) -> str:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; returns the name of the signal that ended
    the process, or raises KillRefused."""
    try:
        proc.send_signal(signal.SIGTERM)
    except psutil.NoSuchProcess:
        raise KillRefused(f"no process with PID {proc.pid}") from None
    except psutil.AccessDenied:
        raise KillRefused(f"portald is not allowed to signal PID {proc.pid}") from None
    if _gone_within(proc, grace):
        return "SIGTERM"
    try:
        proc.send_signal(signal.SIGKILL)
    except psutil.NoSuchProcess:  # it exited between the last look and SIGKILL
        return "SIGTERM"
    if _gone_within(proc, KILL_WAIT_SECONDS):
        return "SIGKILL"
    raise KillRefused(f"PID {proc.pid} did not exit after SIGKILL")
