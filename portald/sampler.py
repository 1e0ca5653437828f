"""Background samplers: one per data source, running only while someone reads.

A sampler collects its source every ``interval`` seconds in one greenlet and keeps the latest snapshot;
every reader shares that snapshot, so N concurrent requests cost one collection, not N. It starts on the
first ``latest()`` and stops after ``idle_stop`` seconds without a reader, so an idle daemon costs no
CPU. A collection runs in the sampler's greenlet, bounded by ``timeout``; a source that blocks (C
libraries, big /proc walks, buses that stall) is a method of a driver that declares ``blocking = True``,
which the core already runs in the threadpool (``portald.drivers.BlockingDriver``), so a sampler never
offloads anything itself.
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
                 timeout: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.name, self._collect, self.interval, self.idle_stop = name, collect, interval, idle_stop
        self.timeout, self._clock = timeout, clock
        self._value: Any = None
        self._error: str | None = None
        self._ready = Event()
        self._greenlet: gevent.Greenlet | None = None
        self._last_read = 0.0
        self._generation = 0  # counts successful collections: a sample's identity
        self._rendered: dict[str, tuple[int, bytes]] = {}  # key -> (generation, rendering)
        self.collections = 0

    @property
    def running(self) -> bool:
        return self._greenlet is not None and not self._greenlet.dead

    def latest(self) -> Any:
        """The newest snapshot; waits for the first one when the sampler was idle."""
        self._last_read = self._clock()
        greenlet = self._greenlet
        if greenlet is None or greenlet.dead:
            self._ready.clear()
            self._greenlet = gevent.spawn(self._run)
        # the usual case, a sample at hand, costs no wait (Event.wait is a call into the hub)
        if not self._ready.is_set() and not self._ready.wait(self.timeout + 1):
            raise SampleFailed(f"{self.name}: no sample within {self.timeout:g} s")
        if self._error is not None:
            raise SampleFailed(self._error)
        return self._value

    def latest_rendered(self, render: Callable[[Any], bytes], key: str = "") -> bytes:
        """``render(latest())``, computed once per sample and kept until the next one: a response body
        that every request of one sampling period shares instead of encoding it again."""
        value = self.latest()
        cached = self._rendered.get(key)
        if cached is None or cached[0] != self._generation:
            cached = self._rendered[key] = (self._generation, render(value))
        return cached[1]

    def refresh(self) -> None:
        """Collect now, in the caller: after a write, the next reader sees its effect at once instead
        of up to ``interval`` seconds later."""
        self._collect_once()

    def _collect_once(self) -> None:
        try:
            with gevent.Timeout(self.timeout):
                value = self._collect()
        except gevent.Timeout:
            self._failed(f"{self.name}: collection timed out after {self.timeout:g} s")
        except SampleFailed as exc:
            self._error = str(exc)
        except Exception as exc:  # a broken source must not kill the sampler
            self._failed(f"{self.name}: {exc}")
        else:
            if self._error is not None:
                log.info("sampling %s works again", self.name)
            self._value, self._error = value, None
            self._generation += 1
        self.collections += 1
        self._ready.set()

    def _failed(self, error: str) -> None:
        # logged when it starts or changes, not every round of a source that stays broken
        if error != self._error:
            log.warning("sampling failed: %s", error)
        self._error = error

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
