"""Background samplers: lazy start, idle stop, one shared collection, failures surfaced."""
from __future__ import annotations

import time

import gevent
import pytest

from portald.sampler import SampleFailed, Sampler


def test_sampler_starts_on_first_read_and_stops_when_idle():
    calls = []
    sampler = Sampler("t", lambda: calls.append(1) or len(calls), interval=0.01, idle_stop=0.05)
    assert not sampler.running and not calls
    assert sampler.latest() == 1
    assert sampler.running
    gevent.sleep(0.2)
    assert not sampler.running
    stopped_at = len(calls)
    gevent.sleep(0.05)
    assert len(calls) == stopped_at
    assert sampler.latest() == stopped_at + 1  # a fresh sample after restart, not the stale one
    sampler.stop()


def test_concurrent_readers_share_one_collection():
    calls = []

    def slow():
        gevent.sleep(0.05)
        calls.append(1)
        return "snapshot"

    sampler = Sampler("t", slow, interval=10, idle_stop=10)
    results = [g.get() for g in [gevent.spawn(sampler.latest) for _ in range(50)]]
    assert results == ["snapshot"] * 50 and len(calls) == 1
    sampler.stop()


def test_collection_error_is_reported_and_sampler_recovers():
    state = {"fail": True}

    def collect():
        if state["fail"]:
            raise OSError("bus error")
        return 42

    sampler = Sampler("t", collect, interval=0.01, idle_stop=5)
    with pytest.raises(SampleFailed, match="bus error"):
        sampler.latest()
    state["fail"] = False
    gevent.sleep(0.05)
    assert sampler.latest() == 42
    sampler.stop()


class _Source:
    """A blocking driver's read, wrapped by the core as every ``blocking = True`` driver is."""

    name = "test.source"
    blocking = True

    def __init__(self, read):
        self.read = read


def _blocking(read, timeout: float):
    from portald.drivers import BlockingDriver

    return BlockingDriver(_Source(read), timeout).read


def test_blocking_collection_times_out_without_blocking_the_hub():
    sampler = Sampler("t", _blocking(lambda: time.sleep(0.5), 0.1), timeout=5, interval=10)
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.01)) for _ in range(10)])
    with pytest.raises(SampleFailed, match="did not answer within"):
        sampler.latest()
    ticker.join()
    assert len(ticks) == 10
    sampler.stop()


def test_a_wedged_collection_holds_one_thread_not_one_per_round():
    import threading

    release = threading.Event()
    started = []

    def wedged():
        started.append(1)
        release.wait(10)
        return "late"

    sampler = Sampler("t", _blocking(wedged, 0.05), interval=0.01, idle_stop=10)
    with pytest.raises(SampleFailed):
        sampler.latest()
    gevent.sleep(0.3)  # many rounds
    assert len(started) == 1
    release.set()
    gevent.sleep(0.3)
    assert sampler.latest() == "late" and len(started) >= 2
    sampler.stop()
