"""Background samplers: one per data source, running only while someone reads.

A sampler collects its source every ``interval`` seconds in one greenlet and keeps the latest snapshot;
every reader shares that snapshot, so N concurrent requests cost one collection, not N. It starts on the
first ``latest()`` and stops after ``idle_stop`` seconds without a reader, so an idle daemon costs no
CPU. Slow or blocking sources (C libraries, big /proc walks) set ``in_thread`` to run the collection in
gevent's threadpool and ``timeout`` to bound it.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

import gevent
from gevent.event import Event

log = logging.getLogger("portald.sampler")


class SampleFailed(Exception):
    """The source could not be collected (the reason is in the message)."""


class Sampler:
    def __init__(self, name: str, collect: Callable[[], Any], interval: float = 2.0, idle_stop: float = 30.0,
                 in_thread: bool = False, timeout: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.name, self._collect, self.interval, self.idle_stop = name, collect, interval, idle_stop
        self.in_thread, self.timeout, self._clock = in_thread, timeout, clock
        self._value: Any = None
        self._error: str | None = None
        self._ready = Event()
        self._greenlet: gevent.Greenlet | None = None
        self._last_read = 0.0
        self._stuck = None  # the threadpool result of a collection that has not returned
        self.collections = 0

    @property
    def running(self) -> bool:
        return self._greenlet is not None and not self._greenlet.dead

    def latest(self) -> Any:
        """The newest snapshot; waits for the first one when the sampler was idle."""
        self._last_read = self._clock()
        if not self.running:
            self._ready.clear()
            self._greenlet = gevent.spawn(self._run)
        if not self._ready.wait(self.timeout + 1):
            raise SampleFailed(f"{self.name}: no sample within {self.timeout:g} s")
        if self._error is not None:
            raise SampleFailed(self._error)
        return self._value

    def _collect_once(self) -> None:
        try:
            if self.in_thread and self._stuck is not None and not self._stuck.ready():
                # a thread still blocked in the last collection (a wedged bus) is not joined by
                # another one each round: that would take every threadpool thread, logins included
                raise SampleFailed(f"{self.name}: the previous collection has not returned yet")
            with gevent.Timeout(self.timeout):
                if self.in_thread:
                    self._stuck = gevent.get_hub().threadpool.spawn(self._collect)
                    value = self._stuck.get()
                    self._stuck = None
                else:
                    value = self._collect()
        except gevent.Timeout:
            self._error = f"{self.name}: collection timed out after {self.timeout:g} s"
            log.warning("%s", self._error)
        except SampleFailed as exc:
            self._error = str(exc)
        except Exception as exc:  # a broken source must not kill the sampler
            self._error = f"{self.name}: {exc}"
            log.warning("sampling %s failed: %s", self.name, exc)
        else:
            self._value, self._error = value, None
        self.collections += 1
        self._ready.set()

    def _run(self) -> None:
        log.debug("sampler %s started", self.name)
        while True:
            self._collect_once()
            gevent.sleep(self.interval)
            if self._clock() - self._last_read > self.idle_stop:
                break
        log.debug("sampler %s stopped (idle)", self.name)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=True, timeout=2)
            self._greenlet = None
