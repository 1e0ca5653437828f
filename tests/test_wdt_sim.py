"""The sim board's EC watchdog behaves like hardware: range enforced, state persisted, and an armed
watchdog that nobody pets expires (the board would reset), even across a daemon restart."""
from __future__ import annotations

import errno
import json
import time

import pytest

from portald.state import StateStore
from portald_plugins.boards.sim.wdt import SimWatchdogDriver


class Clock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path):
    return StateStore(tmp_path / "sim")


def test_sim_watchdog_starts_disarmed_with_the_spec_example_range(store):
    info = SimWatchdogDriver(store).info()
    assert info == {"type": "EC Watchdog", "enabled": False, "timeout": 60, "min": 10, "max": 255}


@pytest.mark.parametrize("seconds", [9, 256, 0, -5])
def test_sim_watchdog_register_rejects_out_of_range_timeouts(store, seconds):
    driver = SimWatchdogDriver(store)
    for call in (driver.set_timeout, driver.enable):
        with pytest.raises(OSError) as caught:
            call(seconds)
        assert caught.value.errno == errno.EINVAL
    assert driver.info()["timeout"] == 60 and not driver.armed


def test_sim_watchdog_state_survives_a_new_driver_on_the_same_store(store):
    clock = Clock()
    SimWatchdogDriver(store, clock).enable(42)
    again = SimWatchdogDriver(store, clock)
    assert again.info()["enabled"] is True and again.info()["timeout"] == 42


def test_sim_watchdog_petted_in_time_never_expires(store):
    clock = Clock()
    driver = SimWatchdogDriver(store, clock)
    driver.enable(10)
    for _ in range(10):
        clock.now += 9.5
        driver.keepalive()
    assert driver.armed and driver.expiries == []


def test_sim_watchdog_not_petted_expires_and_comes_back_disarmed(store):
    clock = Clock()
    driver = SimWatchdogDriver(store, clock)
    driver.enable(10)
    armed_at = clock.now
    clock.now += 10.5
    assert driver.expiries == [armed_at + 10]
    assert driver.info()["enabled"] is False
    driver.keepalive()  # a late keepalive does not re-arm a board that has reset
    assert not driver.armed and len(driver.expiries) == 1


def test_sim_watchdog_left_armed_by_a_dead_daemon_expires_at_the_next_start(store):
    clock = Clock()
    SimWatchdogDriver(store, clock).enable(15)  # the daemon dies here: no disable, no release
    clock.now += 60
    restarted = SimWatchdogDriver(store, clock)
    assert len(restarted.expiries) == 1 and not restarted.armed
    assert json.loads(store.path("watchdog.json").read_text())["expiries"] == restarted.expiries


def test_sim_watchdog_timeout_write_reloads_the_counter(store):
    clock = Clock()
    driver = SimWatchdogDriver(store, clock)
    driver.enable(10)
    clock.now += 8
    driver.set_timeout(12)
    clock.now += 11
    assert driver.armed and driver.expiries == []


def test_sim_watchdog_released_keeps_counting(store):
    clock = Clock()
    driver = SimWatchdogDriver(store, clock)
    driver.enable(10)
    driver.release()
    assert driver.armed
    clock.now += 11
    assert not driver.armed and driver.expiries


def test_sim_watchdog_unreadable_state_falls_back_to_defaults(store):
    store.write_bytes("watchdog.json", b"{not json")
    assert SimWatchdogDriver(store).info()["timeout"] == 60
    store.write_json("watchdog.json", {"timeout": "soon"})
    assert SimWatchdogDriver(store).info()["enabled"] is False


def test_sim_watchdog_uses_the_wall_clock_by_default(store):
    driver = SimWatchdogDriver(store)
    driver.enable(10)
    saved = json.loads(store.path("watchdog.json").read_text())
    assert abs(saved["last_pet"] - time.time()) < 5
