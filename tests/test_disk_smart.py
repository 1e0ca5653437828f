"""S.M.A.R.T.: mapping recorded ``smartctl --json`` reports, running smartctl (a stand-in that replays
recordings, and the real one on this machine's disks), and the background cache's cadence.

Recordings: tests/fixtures/machines/<machine>/smartctl/<device>.json (the drives of the fixture machines)
and tests/fixtures/smartctl/ (a Seagate hard disk, a disk in standby), in smartctl 7.3's schema.
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import gevent
import pytest

from portald.runner import CommandRunner
from portald_plugins.disk.smart_cache import SmartCache
from portald_plugins.boards.linux.disk_smart import SmartCtl, from_report

FIXTURES = Path(__file__).parent / "fixtures"
FAKE = [sys.executable, str(FIXTURES / "smartctl" / "fake_smartctl.py")]
ENTRY_KEYS = ["id", "name", "statusFlags", "value", "worst", "threshold", "rawData"]


def recording(path: str) -> dict:
    return json.loads((FIXTURES / path).read_text())


def expected_smart(machine: str, name: str) -> list[dict]:
    disks = json.loads((FIXTURES / "machines" / machine / "expected" / "perif.disk.json").read_text())
    return next(d["smartAttributes"] for d in disks if d["name"] == name)


def smartctl(recordings: Path, timeout: float = 10.0) -> SmartCtl:
    return SmartCtl(CommandRunner(), [*FAKE, str(recordings)], Path("/dev"), timeout)


# --- mapping ---------------------------------------------------------------------------------------

def test_ata_attribute_table_maps_one_to_one():
    mapped = from_report(recording("machines/desktop/smartctl/sda.json"))
    assert mapped == expected_smart("desktop", "sda")
    assert all(list(entry) == ENTRY_KEYS for entry in mapped)


def test_nvme_health_log_maps_onto_ata_ids():
    mapped = from_report(recording("machines/desktop/smartctl/nvme0n1.json"))
    assert mapped == expected_smart("desktop", "nvme0n1")
    by_id = {entry["id"]: entry for entry in mapped}
    assert by_id[194]["rawData"][0] == 41 and by_id[194]["value"] == 59  # as the spec example: 100 - temp
    assert (by_id[232]["value"], by_id[232]["threshold"]) == (100, 10)


def test_raw_data_is_the_six_raw_bytes_least_significant_first():
    by_id = {entry["id"]: entry for entry in from_report(recording("smartctl/seagate-hdd.json"))}
    # "34 (Min/Max 18/47)": current, lowest and highest temperature in bytes 0, 2 and 4
    assert by_id[194]["rawData"] == [34, 0, 18, 0, 47, 0]
    assert by_id[7]["rawData"] == [0xF5, 0xAC, 0x69, 0x3B, 0, 0]  # 996781301 = 0x3B69ACF5
    assert by_id[1]["statusFlags"] == 15 and by_id[1]["threshold"] == 6


@pytest.mark.parametrize("path", ["machines/arm-emmc-usb/smartctl/mmcblk0.json", "machines/arm-emmc-usb/smartctl/sda.json",
                                  "smartctl/hdd-standby.json"])
def test_reports_without_smart_data_give_no_attributes(path):
    assert from_report(recording(path)) == []


@pytest.mark.parametrize("report", [None, [], "text", {"ata_smart_attributes": None},
                                    {"ata_smart_attributes": {"table": "x"}},
                                    {"nvme_smart_health_information_log": [1, 2]}])
def test_malformed_reports_give_no_attributes(report):
    assert from_report(report) == []


def test_malformed_entries_are_skipped_and_oversized_raw_values_masked():
    good = recording("machines/desktop/smartctl/sda.json")["ata_smart_attributes"]["table"][0]
    huge = {**good, "id": 241, "raw": {"value": (1 << 56) + 5, "string": "?"}}
    table = [{"id": "5"}, 7, {**good, "worst": True}, {**good, "flags": None}, huge, good]
    mapped = from_report({"ata_smart_attributes": {"table": table}})
    assert [e["id"] for e in mapped] == [241, 5]
    assert mapped[0]["rawData"] == [5, 0, 0, 0, 0, 0]
    nvme = from_report({"nvme_smart_health_information_log": {"temperature": True, "power_on_hours": 3}})
    assert [e["id"] for e in nvme] == [9]


# --- running smartctl ------------------------------------------------------------------------------

def test_smartctl_is_asked_for_json_without_waking_the_disk():
    # the stand-in refuses any other options (exit 1, no JSON) -- then there would be no attributes
    assert smartctl(FIXTURES / "machines" / "desktop" / "smartctl").attributes("sda") == expected_smart("desktop", "sda")
    assert smartctl(FIXTURES / "machines" / "desktop" / "smartctl").attributes("nvme0n1") == expected_smart("desktop", "nvme0n1")


def test_devices_smartctl_cannot_read_have_no_attributes():
    ctl = smartctl(FIXTURES / "machines" / "arm-emmc-usb" / "smartctl")
    assert ctl.attributes("mmcblk0") == [] and ctl.attributes("sda") == []


def test_disk_in_standby_or_unopenable_is_not_an_answer(tmp_path):
    shutil.copy(FIXTURES / "smartctl" / "hdd-standby.json", tmp_path / "sdb.json")
    assert smartctl(tmp_path).attributes("sdb") is None
    assert smartctl(tmp_path).attributes("sdz") is None  # no such device: exit 2


def test_missing_smartctl_is_not_an_answer(tmp_path):
    ctl = SmartCtl(CommandRunner(), [str(tmp_path / "no-smartctl")], Path("/dev"), 5)
    assert ctl.attributes("sda") is None


def test_hanging_smartctl_is_cut_off_by_the_timeout():
    ctl = SmartCtl(CommandRunner(), [sys.executable, "-c", "import time; time.sleep(30)"], Path("/dev"), 0.3)
    started = time.monotonic()
    assert ctl.attributes("sda") is None
    assert time.monotonic() - started < 5


def test_garbage_output_gives_no_attributes():
    ctl = SmartCtl(CommandRunner(), [sys.executable, "-c", "print('not json')"], Path("/dev"), 5)
    assert ctl.attributes("sda") == []


def test_real_smartctl_on_this_machines_disks():
    """This machine's own disks through the real smartctl (a VM's virtio disk has no S.M.A.R.T.: [])."""
    if shutil.which("smartctl") is None:
        pytest.fail("smartctl is missing: apt-get install smartmontools (listed in the Makefile's RUN_DEBS)")
    names = [p.name for p in Path("/sys/block").iterdir() if (p / "device").exists()]
    assert names, "this machine has no physical disk to ask"
    for name in names:
        result = SmartCtl(CommandRunner(), ["smartctl"], Path("/dev"), 60).attributes(name)
        assert result is None or isinstance(result, list), name
        for entry in result or []:
            assert list(entry) == ENTRY_KEYS
            assert len(entry["rawData"]) == 6 and all(0 <= b <= 255 for b in entry["rawData"])


# --- the background cache --------------------------------------------------------------------------

def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        gevent.sleep(0.02)


def test_cache_answers_at_once_and_fills_in_the_background():
    cache = SmartCache(smartctl(FIXTURES / "machines" / "desktop" / "smartctl").attributes, interval=300)
    assert cache.attributes("sda", "S62") == []  # never waits for smartctl
    wait_until(lambda: cache.attributes("sda", "S62") != [])
    assert cache.attributes("sda", "S62") == expected_smart("desktop", "sda")
    cache.stop()


def test_cache_keeps_the_last_reading_while_the_disk_sleeps(tmp_path):
    shutil.copy(FIXTURES / "smartctl" / "seagate-hdd.json", tmp_path / "sdb.json")
    cache = SmartCache(smartctl(tmp_path).attributes, interval=0.1)
    wait_until(lambda: cache.attributes("sdb", "ZFL1") != [])
    awake = cache.attributes("sdb", "ZFL1")
    shutil.copy(FIXTURES / "smartctl" / "hdd-standby.json", tmp_path / "sdb.json")
    before = cache.readings
    wait_until(lambda: cache.readings >= before + 2 and bool(cache.attributes("sdb", "ZFL1")))
    assert cache.attributes("sdb", "ZFL1") == awake
    cache.stop()


def test_cache_reads_each_disk_once_per_interval():
    cache = SmartCache(smartctl(FIXTURES / "machines" / "desktop" / "smartctl").attributes, interval=300)
    for _ in range(20):
        cache.attributes("sda", "S62")
        cache.attributes("nvme0n1", "S6Z")
        gevent.sleep(0.05)
    wait_until(lambda: cache.readings == 2)
    gevent.sleep(0.3)
    assert cache.readings == 2
    cache.stop()


def test_cache_reads_a_swapped_disk_at_once(tmp_path):
    shutil.copy(FIXTURES / "machines" / "desktop" / "smartctl" / "sda.json", tmp_path / "sda.json")
    cache = SmartCache(smartctl(tmp_path).attributes, interval=300)
    wait_until(lambda: cache.attributes("sda", "S62ANZ0R123456A") != [])
    shutil.copy(FIXTURES / "smartctl" / "seagate-hdd.json", tmp_path / "sda.json")
    assert cache.attributes("sda", "ZFL1ABCD") == []  # not the previous drive's values
    wait_until(lambda: cache.attributes("sda", "ZFL1ABCD") != [])
    assert cache.attributes("sda", "ZFL1ABCD") == from_report(recording("smartctl/seagate-hdd.json"))
    cache.stop()


def test_cache_stops_when_no_one_asks():
    cache = SmartCache(smartctl(FIXTURES / "machines" / "desktop" / "smartctl").attributes, interval=0.05, idle_stop=0.2)
    cache.attributes("sda", "S62")
    wait_until(lambda: cache.readings >= 1)
    wait_until(lambda: not cache.running, timeout=3)
    stopped_at = cache.readings
    gevent.sleep(0.3)
    assert cache.readings == stopped_at


def test_a_failing_driver_does_not_end_the_cadence():
    calls = []

    def flaky(name):
        calls.append(name)
        if len(calls) == 1:
            raise RuntimeError("bus reset")
        return [{"id": 9}]

    cache = SmartCache(flaky, interval=0.05)
    wait_until(lambda: cache.attributes("sda", "x") == [{"id": 9}])
    cache.stop()
