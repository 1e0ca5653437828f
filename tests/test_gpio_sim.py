"""The sim GPIO board: outputs hold and persist, inputs move with the clock, bad state files survived."""
from __future__ import annotations

import pytest

from portald.state import StateStore
from portald_plugins.boards.sim.gpio import SimGpioDriver

OUTPUT, INPUT = 0, 1


class Clock:
    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


def test_input_pin_n_toggles_every_n_plus_1_seconds(tmp_path):
    clock = Clock()
    driver = SimGpioDriver(StateStore(tmp_path), clock)
    seen = []
    for second in range(0, 12):
        clock.now = second + 0.5
        seen.append(driver.read(5)["level"])
    assert seen == [0] * 6 + [1] * 6
    clock.now = 4.0
    assert driver.read(4)["level"] == 0 and driver.read(7)["level"] == 0
    clock.now = 5.0
    assert driver.read(4)["level"] == 1


def test_outputs_do_not_move_with_the_clock(tmp_path):
    clock = Clock()
    driver = SimGpioDriver(StateStore(tmp_path), clock)
    driver.set_level(2, 1)
    for now in (0.0, 3.3, 77.0, 1e6):
        clock.now = now
        assert driver.read(2) == {"dir": OUTPUT, "level": 1}


def test_input_level_cannot_be_set(tmp_path):
    driver = SimGpioDriver(StateStore(tmp_path))
    with pytest.raises(OSError):
        driver.set_level(4, 1)


def test_state_is_written_atomically_and_reloaded(tmp_path):
    store = StateStore(tmp_path)
    driver = SimGpioDriver(store)
    driver.set_dir(6, OUTPUT)
    driver.set_level(6, 1)
    driver.set_dir(1, INPUT)
    assert store.read_json("gpio.json") == {"dir": [0, 1, 0, 0, 1, 1, 0, 1], "level": [0, 0, 0, 0, 0, 0, 1, 0]}
    again = SimGpioDriver(store)
    assert again.read(6) == {"dir": OUTPUT, "level": 1} and again.read(1)["dir"] == INPUT


def test_output_switched_back_from_input_starts_low(tmp_path):
    driver = SimGpioDriver(StateStore(tmp_path))
    driver.set_level(0, 1)
    driver.set_dir(0, INPUT)
    driver.set_dir(0, OUTPUT)
    assert driver.read(0) == {"dir": OUTPUT, "level": 0}


@pytest.mark.parametrize("content", [
    b"{", b"[]", b'{"dir": [0, 1]}', b'{"dir": [0,0,0,0,1,1,1,1], "level": [0,0,0,0,0,0,0,2]}',
    b'{"dir": [0,0,0,0,1,1,1,true], "level": [0,0,0,0,0,0,0,0]}',
])
def test_corrupt_state_starts_from_the_default(tmp_path, content):
    store = StateStore(tmp_path)
    store.write_bytes("gpio.json", content)
    driver = SimGpioDriver(store)
    assert [driver.read(pin)["dir"] for pin in range(8)] == [OUTPUT] * 4 + [INPUT] * 4
