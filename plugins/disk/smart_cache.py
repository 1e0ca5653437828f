"""The S.M.A.R.T. cache: attributes read on their own slow cadence, never inside a request.

Reading S.M.A.R.T. takes smartctl from ~50 ms (SSD) to seconds (a disk waking up, a slow USB bridge),
so requests never wait for it: they get the latest cached attributes (``[]`` before the first reading)
and the cache refreshes each disk every ``interval`` seconds in one background greenlet, one disk after
the other. The greenlet starts with the first read, reads a newly seen disk at once, and ends when no
one has asked for ``idle_stop`` seconds. Entries are keyed by disk name *and* serial number, so a disk
swapped for another under the same name is read afresh instead of showing its predecessor's values.

``fetch(name)`` is the driver's S.M.A.R.T. reader (``driver.smart.attributes``): a list, or None for
"could not ask now" (spun down, timed out), which keeps the previous value.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

import gevent
from gevent.event import Event

log = logging.getLogger(__name__)

Key = tuple[str, str]


class SmartCache:
    def __init__(self, fetch: Callable[[str], list | None], interval: float, idle_stop: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self._fetch, self.interval, self.idle_stop, self._clock = fetch, interval, idle_stop, clock
        self._values: dict[Key, list] = {}
        self._asked: dict[Key, float] = {}  # last time a reader wanted the key
        self._done: dict[Key, float] = {}  # last time the key was read
        self._wake = Event()
        self._greenlet: gevent.Greenlet | None = None
        self.readings = 0

    @property
    def running(self) -> bool:
        return self._greenlet is not None and not self._greenlet.dead

    def attributes(self, name: str, serial: str) -> list:
        """The cached attributes of one disk; starts the background reading when needed."""
        key = (name, serial)
        self._asked[key] = self._clock()
        if key not in self._done:
            self._wake.set()
        if not self.running:
            self._greenlet = gevent.spawn(self._run)
        return list(self._values.get(key, []))

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=True, timeout=2)
            self._greenlet = None

    def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self._clock()
            wanted = [key for key, asked in list(self._asked.items()) if now - asked <= self.idle_stop]
            if not wanted:
                log.debug("S.M.A.R.T. reading stopped (idle)")
                return
            for key in wanted:
                if key not in self._done or now - self._done[key] >= self.interval:
                    self._refresh(key)
            now = self._clock()
            due = min(self._done.get(key, now) + self.interval - now for key in wanted)
            self._wake.wait(max(0.0, due))

    def _refresh(self, key: Key) -> None:
        try:
            value = self._fetch(key[0])
        except Exception as exc:  # a broken driver must not end the cadence of the other disks
            log.warning("S.M.A.R.T. of %s failed: %s: %s", key[0], type(exc).__name__, exc)
            value = None
        self._done[key] = self._clock()
        self.readings += 1
        if value is not None:
            self._values[key] = value
