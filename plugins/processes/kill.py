"""Ending a process: SIGTERM, then SIGKILL after a grace period (no Flask). The driver checks and
signals; this module decides the sequence and waits.

The waiting polls the driver with ``gevent.sleep`` between calls, so a process taking its whole grace
period to exit holds only its own request, never the daemon, and never a threadpool thread. A process
counts as gone once it is a zombie: it has exited, and only its parent (which may never call wait())
can remove the entry.
"""
from __future__ import annotations

import time

import gevent

from portald.drivers import DriverError

KILL_WAIT_SECONDS = 2.0  # after SIGKILL: only an uninterruptible sleep (D state) outlasts this
POLL_SECONDS = 0.05


def _gone_within(driver, target: dict, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while driver.running(target["pid"], target["started"]):
        if time.monotonic() >= deadline:
            return False
        gevent.sleep(POLL_SECONDS)
    return True


def stop(driver, target: dict, grace: float) -> str:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; returns the name of the signal that ended the
    process ``target`` (what ``driver.target()`` returned). Raises ``DriverError`` (or ``OSError`` from
    a stalled driver) with a message for the client."""
    pid, started = target["pid"], target["started"]
    if not driver.signal(pid, started, "SIGTERM"):
        raise DriverError(f"no process with PID {pid}")
    if _gone_within(driver, target, grace):
        return "SIGTERM"
    if not driver.signal(pid, started, "SIGKILL"):  # it exited between the last look and SIGKILL
        return "SIGTERM"
    if _gone_within(driver, target, KILL_WAIT_SECONDS):
        return "SIGKILL"
    raise DriverError(f"PID {pid} did not exit after SIGKILL")
