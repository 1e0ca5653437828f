"""The generic Linux redundant-power driver: each source type read from a kernel-shaped sysfs tree
(tests/fixtures/cases/edge-board: two ACPI mains adapters AC1 online / AC2 offline, an nct6775 chip as
hwmon2 with in3 healthy and in4 in alarm at 4.75 V, an acpitz chip as hwmon0, exported GPIOs 17 = 1 and
18 = 0), and its config validation."""
from __future__ import annotations

import shutil

import pytest
from pydantic import ValidationError

from conftest import FIXTURES
from portald_plugins.boards.linux.power import LinuxPowerDriver, Settings

BOARD = FIXTURES / "cases" / "edge-board" / "sys"
ONLINE_AC = {"type": "power_supply", "name": "AC1"}


def read(vin2: dict, root=BOARD, vin1: dict = ONLINE_AC) -> dict:
    return LinuxPowerDriver(root, Settings.model_validate({"vin1": vin1, "vin2": vin2})).read()


@pytest.fixture
def board(tmp_path):
    shutil.copytree(BOARD, tmp_path / "sys", symlinks=True)
    return tmp_path / "sys"


@pytest.mark.parametrize("source,state", [
    ({"type": "power_supply", "name": "AC1"}, 1),
    ({"type": "power_supply", "name": "AC2"}, 0),
    ({"type": "hwmon_alarm", "path": "hwmon2/in3_alarm"}, 1),
    ({"type": "hwmon_alarm", "path": "hwmon2/in4_alarm"}, 0),
    ({"type": "hwmon_threshold", "path": "hwmon2/in3_input", "min_mv": 11000}, 1),
    ({"type": "hwmon_threshold", "path": "hwmon2/in4_input", "min_mv": 11000}, 0),
    ({"type": "hwmon_threshold", "path": "hwmon2/in3_input", "min_mv": 11000, "max_mv": 12000}, 0),
    ({"type": "hwmon_threshold", "path": "hwmon2/in3_input", "min_mv": 12096, "max_mv": 12096}, 1),
    ({"type": "gpio_sysfs", "gpio": 17}, 1),
    ({"type": "gpio_sysfs", "gpio": 18}, 0),
    ({"type": "gpio_sysfs", "gpio": 17, "invert": True}, 0),
    ({"type": "gpio_sysfs", "gpio": 18, "invert": True}, 1),
])
def test_each_source_type_reads_its_sysfs_file(source, state):
    assert read(source) == {"vin1": 1, "vin2": state}


def test_hwmon_chip_can_be_named_instead_of_numbered():
    assert read({"type": "hwmon_alarm", "path": "nct6775/in4_alarm"})["vin2"] == 0
    assert read({"type": "hwmon_threshold", "path": "nct6775/in3_input", "min_mv": 11000})["vin2"] == 1


def test_hwmon_chip_name_must_exist_and_be_unique(board):
    with pytest.raises(OSError, match="no hwmon chip is named 'it8728'"):
        read({"type": "hwmon_alarm", "path": "it8728/in3_alarm"}, board)
    twin = board / "devices" / "platform" / "nct6775.657" / "hwmon" / "hwmon3"
    shutil.copytree(board / "class" / "hwmon" / "hwmon2", twin, symlinks=True)
    (board / "class" / "hwmon" / "hwmon3").symlink_to("../../devices/platform/nct6775.657/hwmon/hwmon3")
    with pytest.raises(OSError, match="2 hwmon chips are named 'nct6775'"):
        read({"type": "hwmon_alarm", "path": "nct6775/in3_alarm"}, board)
    assert read({"type": "hwmon_alarm", "path": "hwmon3/in3_alarm"}, board)["vin2"] == 1


def test_hwmon_attribute_on_the_parent_device_is_found(board):
    # drivers on the old hwmon registration API keep their attributes on the parent device
    chip = board / "devices" / "platform" / "nct6775.656"
    (chip / "hwmon" / "hwmon2" / "in4_alarm").rename(chip / "in4_alarm")
    assert read({"type": "hwmon_alarm", "path": "hwmon2/in4_alarm"}, board)["vin2"] == 0


def test_readings_follow_the_files(board):
    source = {"type": "power_supply", "name": "AC2"}
    assert read(source, board)["vin2"] == 0
    (board / "class" / "power_supply" / "AC2" / "online").write_text("1\n")
    assert read(source, board)["vin2"] == 1
    (board / "class" / "power_supply" / "AC2" / "online").write_text("2\n")  # USB-PD "programmable"
    assert read(source, board)["vin2"] == 1


@pytest.mark.parametrize("source,message", [
    ({"type": "power_supply", "name": "AC9"}, "vin2 (power_supply): cannot read"),
    ({"type": "gpio_sysfs", "gpio": 99}, "vin2 (gpio_sysfs): cannot read"),
    ({"type": "hwmon_alarm", "path": "hwmon7/in3_alarm"}, "vin2 (hwmon_alarm): cannot read"),
    ({"type": "hwmon_alarm", "path": "hwmon2/name"}, "not an integer"),
])
def test_unreadable_source_is_an_error_naming_the_input_not_offline(source, message):
    with pytest.raises(OSError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read(source)
    driver = LinuxPowerDriver(BOARD, Settings.model_validate({"vin1": ONLINE_AC, "vin2": source}))
    assert driver.probe() is False


@pytest.mark.parametrize("config", [
    {"vin1": ONLINE_AC},
    {"vin1": ONLINE_AC, "vin2": {"type": "smoke_signal"}},
    {"vin1": ONLINE_AC, "vin2": {"type": "power_supply", "name": "../../../etc"}},
    {"vin1": ONLINE_AC, "vin2": {"type": "power_supply", "name": "AC1/online"}},
    {"vin1": ONLINE_AC, "vin2": {"type": "power_supply"}},
    {"vin1": ONLINE_AC, "vin2": {"type": "hwmon_alarm", "path": "../hwmon2/in3_alarm"}},
    {"vin1": ONLINE_AC, "vin2": {"type": "hwmon_alarm", "path": "/hwmon2/in3_alarm"}},
    {"vin1": ONLINE_AC, "vin2": {"type": "hwmon_alarm", "path": "hwmon2/device/in3_alarm"}},
    {"vin1": ONLINE_AC, "vin2": {"type": "hwmon_threshold", "path": "hwmon2/in3_input"}},
    {"vin1": ONLINE_AC, "vin2": {"type": "hwmon_threshold", "path": "hwmon2/in3_input", "min_mv": 12000,
                                 "max_mv": 11000}},
    {"vin1": ONLINE_AC, "vin2": {"type": "hwmon_threshold", "path": "hwmon2/in3_input", "min_mv": "11000"}},
    {"vin1": ONLINE_AC, "vin2": {"type": "gpio_sysfs", "gpio": True}},
    {"vin1": ONLINE_AC, "vin2": {"type": "gpio_sysfs", "gpio": -1}},
    {"vin1": ONLINE_AC, "vin2": {"type": "gpio_sysfs", "gpio": 17, "active": "low"}},
    {"vin1": "AC1", "vin2": ONLINE_AC},
])
def test_bad_source_config_is_refused(config):
    with pytest.raises(ValidationError):
        Settings.model_validate(config)
