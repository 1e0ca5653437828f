"""The sim board's disk behaves like a drive: values move within their ranges, its life goes on
across daemon runs (state in the sim plugin's state folder) and its I/O counters grow."""
from __future__ import annotations

import random

import pytest

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


IO_COUNTS = ("readsCompleted", "writesCompleted", "readBytes", "writtenBytes")


def test_io_counters_grow_at_a_light_workloads_rate_and_never_go_back():
    clock = Clock()
    driver = SimDiskDriver(None, random.Random(9), clock)
    (start,) = driver.io_counters()
    assert start["device"] == "sda" and start["readsCompleted"] > 0  # what the boot read
    readings = [start]
    for _ in range(60):  # an hour in minutes
        clock.now += 60
        readings.append(driver.io_counters()[0])
    for before, after in zip(readings, readings[1:]):
        for key in (*IO_COUNTS, "readTimeSeconds", "writeTimeSeconds"):
            assert after[key] > before[key], key
        minute_reads = after["readsCompleted"] - before["readsCompleted"]
        assert 0.5 * 12 * 60 - 1 <= minute_reads <= 1.5 * 12 * 60 + 1  # 12 a second, +-50 %
        # each read is 32 KiB on average and takes 0.2 ms
        assert (after["readBytes"] - before["readBytes"]) == pytest.approx(minute_reads * 32768, rel=0.01)
    rates = [b["writesCompleted"] - a["writesCompleted"] for a, b in zip(readings, readings[1:])]
    assert max(rates) > 1.3 * min(rates)  # the workload swings
    hour = readings[-1]["readsCompleted"] - start["readsCompleted"]
    assert hour == pytest.approx(12 * 3600, rel=0.05)  # and averages out over its period
    assert all(type(r[key]) is int for r in readings for key in IO_COUNTS)


def test_io_counters_stand_still_without_time_and_start_again_at_a_new_run(tmp_path):
    store, clock = StateStore(tmp_path), Clock()
    first = SimDiskDriver(store, random.Random(10), clock)
    clock.now += 3600
    ran = first.io_counters()
    assert first.io_counters() == ran  # no time passed
    # every daemon start is the sim drive's power cycle (the power-cycle count grows): counters since boot
    again = SimDiskDriver(store, random.Random(11), clock).io_counters()
    assert again[0]["readsCompleted"] < ran[0]["readsCompleted"]
