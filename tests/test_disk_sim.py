"""The sim board's disk behaves like a drive: values move within their ranges and its life goes on
across daemon runs (state in the sim plugin's state folder)."""
from __future__ import annotations

import random

from portald.state import StateStore
from portald_plugins.boards.sim.disk import FS_BYTES, SimDiskDriver


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def raw(attribute: dict) -> int:
    return int.from_bytes(bytes(attribute["rawData"]), "little")


def smart_by_id(driver) -> dict[int, dict]:
    return {a["id"]: a for a in driver.smart.attributes("sda")}


def test_power_on_hours_grow_with_running_time_and_survive_a_restart(tmp_path):
    store, clock = StateStore(tmp_path), Clock()
    first = SimDiskDriver(store, random.Random(1), clock)
    start_hours = raw(smart_by_id(first)[9])
    clock.now += 5 * 3600 + 60
    assert raw(smart_by_id(first)[9]) == start_hours + 5

    clock.now += 10  # the next run starts where the previous one was last saved
    second = SimDiskDriver(store, random.Random(2), clock)
    assert raw(smart_by_id(second)[9]) == start_hours + 5
    assert raw(smart_by_id(second)[12]) == raw(smart_by_id(first)[12]) + 1  # one more power cycle


def test_reallocated_sectors_stay_zero_and_temperature_wanders_in_range():
    clock = Clock()
    driver = SimDiskDriver(None, random.Random(3), clock)
    temperatures = set()
    for _ in range(200):
        clock.now += 30
        attrs = smart_by_id(driver)
        assert raw(attrs[5]) == 0
        current, lowest, highest = attrs[194]["rawData"][0], attrs[194]["rawData"][2], attrs[194]["rawData"][4]
        assert 25 <= lowest <= current <= highest <= 70
        assert attrs[194]["value"] == 100 - current
        temperatures.add(current)
    assert len(temperatures) > 3


def test_root_partition_usage_drifts_slowly_and_stays_consistent():
    clock = Clock()
    driver = SimDiskDriver(None, random.Random(4), clock)
    used = []
    for _ in range(100):
        clock.now += 600
        (disk,) = driver.disks()
        (root,) = disk["partitions"]
        assert root["sizeBytes"] == FS_BYTES
        assert root["usedBytes"] + root["freeBytes"] == FS_BYTES
        assert 5 <= root["usedPercent"] <= 95
        used.append(root["usedBytes"])
    steps = [abs(b - a) for a, b in zip(used, used[1:])]
    assert len(set(used)) > 50  # it moves...
    assert max(steps) < 0.03 * FS_BYTES  # ...slowly: 10 minutes never move it by 3% of the disk


def test_no_time_passing_changes_nothing():
    clock = Clock()
    driver = SimDiskDriver(None, random.Random(5), clock)
    assert driver.disks() == driver.disks() and driver.smart.attributes("sda") == driver.smart.attributes("sda")


def test_corrupt_state_file_starts_a_fresh_drive(tmp_path):
    store = StateStore(tmp_path)
    store.write_bytes("disk.json", b"{not json")
    driver = SimDiskDriver(store, random.Random(6), Clock())
    assert raw(smart_by_id(driver)[9]) > 0
    store.write_json("disk.json", {"power_on_seconds": "many"})
    assert SimDiskDriver(store, random.Random(7), Clock()).disks()[0]["name"] == "sda"


def test_other_disk_names_have_no_smart():
    assert SimDiskDriver(None, random.Random(8), Clock()).smart.attributes("sdb") == []
