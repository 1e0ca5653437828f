"""The sim LEDs: state kept atomically in the sim board's state folder, bad state files survived."""
from __future__ import annotations

import pytest

from portald.state import StateStore
from portald_plugins.boards.sim.led import SimLedDriver


def test_led_state_is_saved_and_reloaded(tmp_path):
    store = StateStore(tmp_path)
    SimLedDriver(store).set(7, True)
    assert store.read_json("led.json") == {"leds": [True] + [False] * 6 + [True]}
    again = SimLedDriver(store)
    assert [again.get(i) for i in range(again.count())] == [True] + [False] * 6 + [True]


def test_failed_save_leaves_the_led_unchanged(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    driver = SimLedDriver(StateStore(blocker))
    with pytest.raises(OSError):
        driver.set(3, True)
    assert driver.get(3) is False


@pytest.mark.parametrize("content", [b"{oops", b'{"leds": [true]}', b'{"leds": [1,0,0,0,0,0,0,0]}', b"[1]"])
def test_corrupt_state_starts_with_only_the_power_led_on(tmp_path, content):
    store = StateStore(tmp_path)
    store.write_bytes("led.json", content)
    driver = SimLedDriver(store)
    assert [driver.get(i) for i in range(8)] == [True] + [False] * 7
