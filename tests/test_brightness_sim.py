"""The sim backlight: range enforced, value kept in its state folder, bad state files survived."""
from __future__ import annotations

import pytest

from portald.state import StateStore
from portald_plugins.boards.sim.brightness import SimBrightnessDriver


def test_value_persists_in_the_state_folder(tmp_path):
    store = StateStore(tmp_path)
    SimBrightnessDriver(store).write(7)
    assert SimBrightnessDriver(store).read() == {"min": 0, "max": 9, "value": 7}


def test_out_of_range_write_is_refused_and_not_saved(tmp_path):
    store = StateStore(tmp_path)
    driver = SimBrightnessDriver(store)
    with pytest.raises(OSError):
        driver.write(10)
    assert driver.read()["value"] == 5 and store.read_bytes("brightness.json") is None


@pytest.mark.parametrize("content", [b"{not json", b'{"value": 42}', b'{"value": true}', b"[]"])
def test_corrupt_state_starts_from_the_default(tmp_path, content):
    store = StateStore(tmp_path)
    store.write_bytes("brightness.json", content)
    assert SimBrightnessDriver(store).read()["value"] == 5
