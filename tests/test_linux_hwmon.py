"""Tests for the Linux hwmon driver against sysfs trees laid out like the kernel's.

Committed fixtures (tests/fixtures/machines/<machine>/, tests/fixtures/cases/<case>/) are never
modified here; a test that needs a changed tree copies one to tmp_path first. A tree's expected
reading is its ``expected/hwmon.json`` (the API's answer); a tree without one has no sensor.
"""

import errno
import json
import shutil
from pathlib import Path

import pytest

from portald_plugins.boards.linux.hwmon import LinuxHwmonDriver

FIXTURES = Path(__file__).parent / "fixtures"
TREES = {
    "desktop-q370": FIXTURES / "machines" / "desktop-q370",
    "arm-soc-thermal": FIXTURES / "machines" / "arm-soc-thermal",
    "duplicate-labels": FIXTURES / "cases" / "duplicate-labels",
    "empty": FIXTURES / "cases" / "empty",
}
MACHINES = list(TREES)
NO_SENSORS = {"temperature": [], "voltage": [], "current": [], "fanspeed": []}


def expected_reading(machine):
    path = TREES[machine] / "expected" / "hwmon.json"
    return json.loads(path.read_text()) if path.exists() else NO_SENSORS


def names(result, kind):
    return [sensor["name"] for sensor in result[kind]]


def by_name(result, kind):
    return {sensor["name"]: sensor["value"] for sensor in result[kind]}


def value_types(result):
    return {kind: [type(s["value"]).__name__ for s in sensors] for kind, sensors in result.items()}


@pytest.fixture
def copy_machine(tmp_path):
    """Copy a committed fixture to tmp_path (links stay relative) and return its sys dir."""

    def copy(machine):
        shutil.copytree(TREES[machine], tmp_path / machine, symlinks=True)
        return tmp_path / machine / "sys"

    return copy


def inside(path, root):
    """Resolve a path in a copied tree, refusing to touch anything outside it."""
    resolved = path.resolve()
    assert resolved.is_relative_to(root.resolve()), resolved
    return resolved


def make_chip(sys_dir, index, files, device_files=None):
    """Build hwmon<index> the kernel way: a class symlink into devices/, plus a device link."""
    device = sys_dir / "devices" / "platform" / f"chip.{index}"
    hwmon = device / "hwmon" / f"hwmon{index}"
    hwmon.mkdir(parents=True)
    (hwmon / "device").symlink_to(f"../../../chip.{index}")
    for name, text in files.items():
        (hwmon / name).write_text(f"{text}\n")
    for name, text in (device_files or {}).items():
        (device / name).write_text(f"{text}\n")
    link = sys_dir / "class" / "hwmon" / f"hwmon{index}"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(Path("..", "..", hwmon.relative_to(sys_dir)))
    return hwmon


@pytest.mark.parametrize("machine", MACHINES)
def test_fixture_read_matches_expected_json(machine):
    expected = expected_reading(machine)
    result = LinuxHwmonDriver(TREES[machine] / "sys").read()
    assert result == expected
    # == treats 42 and 42.0 alike; fan speeds must stay ints, the rest floats
    assert value_types(result) == value_types(expected)


def test_fixture_trees_use_class_symlinks_into_devices():
    for machine in ["desktop-q370", "arm-soc-thermal", "duplicate-labels"]:
        chips = list((TREES[machine] / "sys" / "class" / "hwmon").iterdir())
        assert chips and all(chip.is_symlink() for chip in chips), machine
        assert all("/devices/" in str(chip.resolve()) for chip in chips), machine


@pytest.mark.parametrize("machine", ["desktop-q370", "arm-soc-thermal", "duplicate-labels"])
def test_probe_true_on_machines_with_sensors(machine):
    assert LinuxHwmonDriver(TREES[machine] / "sys").probe() is True


def test_probe_false_on_empty_hwmon_class():
    assert LinuxHwmonDriver(TREES["empty"] / "sys").probe() is False


def test_probe_false_and_empty_read_when_sysfs_root_missing(tmp_path):
    driver = LinuxHwmonDriver(tmp_path / "no-such-sys")
    assert driver.probe() is False
    assert driver.read() == NO_SENSORS


def test_probe_false_when_no_sensor_is_readable(tmp_path):
    make_chip(tmp_path, 0, {"name": "nct6775", "in0_input": "garbage", "pwm1": 128})
    assert LinuxHwmonDriver(tmp_path).probe() is False


def test_sysfs_root_accepts_str():
    result = LinuxHwmonDriver(str(TREES["arm-soc-thermal"] / "sys")).read()
    assert names(result, "temperature") == ["cpu_thermal temp1", "gpu_thermal temp1"]


def test_units_converted_from_kernel_units(tmp_path):
    make_chip(tmp_path, 0, {
        "name": "testchip",
        "temp1_input": -5250,  # milli-degC
        "temp2_input": 47236,
        "in0_input": 1234,  # mV
        "curr1_input": 15260,  # mA
        "fan1_input": 1234,  # RPM
    })
    result = LinuxHwmonDriver(tmp_path).read()
    assert result == {
        "temperature": [
            {"name": "testchip temp1", "value": -5.25, "unit": "Celsius"},
            {"name": "testchip temp2", "value": 47.236, "unit": "Celsius"},
        ],
        "voltage": [{"name": "testchip in0", "value": 1.234, "unit": "Volt"}],
        "current": [{"name": "testchip curr1", "value": 15.26, "unit": "A"}],
        "fanspeed": [{"name": "testchip fan1", "value": 1234, "unit": "RPM"}],
    }
    assert isinstance(result["fanspeed"][0]["value"], int)
    assert isinstance(result["voltage"][0]["value"], float)


@pytest.mark.parametrize("raw,text", [(792, "0.792"), (12345, "12.345"), (45000, "45.0"), (-5250, "-5.25"),
                                      (1, "0.001"), (-1, "-0.001"), (229500, "229.5"), (3300, "3.3")])
def test_values_keep_the_kernels_full_resolution(tmp_path, raw, text):
    make_chip(tmp_path, 0, {"name": "testchip", "in0_input": raw, "temp1_input": raw, "curr1_input": raw})
    result = LinuxHwmonDriver(tmp_path).read()
    for kind in ("voltage", "temperature", "current"):
        assert json.dumps(result[kind][0]["value"]) == text, kind


def test_every_millivalue_prints_as_its_exact_decimal(tmp_path):
    """No float noise anywhere in the range sensors report: 0.1 + 0.2-style artefacts would show here."""
    from decimal import Decimal

    make_chip(tmp_path, 0, {"name": "testchip", **{f"in{i}_input": i * 7919 - 400000 for i in range(200)}})
    for sensor in LinuxHwmonDriver(tmp_path).read()["voltage"]:
        raw = int(sensor["name"].split(" in")[1]) * 7919 - 400000
        assert Decimal(json.dumps(sensor["value"])) == Decimal(raw) / 1000
    for raw in range(-300000, 300000):
        assert Decimal(repr(raw / 1000)) == Decimal(raw) / 1000


def test_garbage_input_is_skipped_and_neighbours_still_read():
    voltages = by_name(LinuxHwmonDriver(TREES["desktop-q370"] / "sys").read(), "voltage")
    assert "nct6775 in6" not in voltages  # in6_input holds "not a number"
    assert voltages["nct6775 in5"] == 1.024
    assert voltages["3VSB"] == 3.424


def test_input_that_is_a_directory_is_skipped(copy_machine):
    sys_dir = copy_machine("desktop-q370")
    in3 = inside(sys_dir / "class" / "hwmon" / "hwmon2" / "in3_input", sys_dir)
    in3.unlink()
    in3.mkdir()
    voltages = by_name(LinuxHwmonDriver(sys_dir).read(), "voltage")
    assert "nct6775 in3" not in voltages
    assert voltages["nct6775 in2"] == 3.376


@pytest.mark.parametrize("code", [errno.EIO, errno.ENODATA, errno.ENXIO, errno.EAGAIN])
def test_input_read_errors_are_skipped_without_raising(monkeypatch, code):
    # Real chips return these on read(); a fixture file cannot, so fake the syscall failure at the
    # one place the Linux board opens sysfs attributes.
    from portald_plugins.boards.linux import sysfs

    def failing_open(path, *args, **kwargs):
        path = Path(path)
        if path.name in ("fan1_input", "temp2_input") and "nct6775" in str(path.resolve()):
            raise OSError(code, "simulated", str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(sysfs, "open", failing_open, raising=False)
    result = LinuxHwmonDriver(TREES["desktop-q370"] / "sys").read()
    assert names(result, "fanspeed") == ["nct6775 fan2"]
    assert "CPUTIN" not in names(result, "temperature")
    assert "SYSTIN" in names(result, "temperature")


def test_vanished_sensor_is_dropped_and_others_keep_reading(copy_machine):
    sys_dir = copy_machine("desktop-q370")
    inside(sys_dir / "class" / "hwmon" / "hwmon2" / "fan2_input", sys_dir).unlink()
    result = LinuxHwmonDriver(sys_dir).read()
    assert result["fanspeed"] == [{"name": "nct6775 fan1", "value": 1084, "unit": "RPM"}]
    assert len(result["temperature"]) == 10


def test_vanished_chip_is_dropped(copy_machine):
    sys_dir = copy_machine("desktop-q370")
    (sys_dir / "class" / "hwmon" / "hwmon1").unlink()  # the class symlink itself
    assert names(LinuxHwmonDriver(sys_dir).read(), "temperature") == [
        "acpitz temp1", "SYSTIN", "CPUTIN", "AUXTIN0", "PECI Agent 0",
    ]


def test_dangling_class_symlink_is_ignored(copy_machine):
    sys_dir = copy_machine("arm-soc-thermal")
    shutil.rmtree(inside(sys_dir / "class" / "hwmon" / "hwmon1", sys_dir))
    assert names(LinuxHwmonDriver(sys_dir).read(), "temperature") == ["cpu_thermal temp1"]


def test_disabled_sensor_is_skipped(copy_machine):
    sys_dir = copy_machine("desktop-q370")
    chip = sys_dir / "class" / "hwmon" / "hwmon2"
    inside(chip, sys_dir).joinpath("temp3_enable").write_text("0\n")
    inside(chip, sys_dir).joinpath("temp1_enable").write_text("1\n")
    temps = names(LinuxHwmonDriver(sys_dir).read(), "temperature")
    assert "AUXTIN0" not in temps
    assert "SYSTIN" in temps


def test_duplicate_core_labels_get_chip_prefixed_names():
    temps = by_name(LinuxHwmonDriver(TREES["duplicate-labels"] / "sys").read(), "temperature")
    assert temps["coretemp.hwmon0 Core 0"] == 48.0
    assert temps["coretemp.hwmon1 Core 0"] == 45.0
    assert temps["coretemp.hwmon1 Core 1"] == 46.0
    assert "Core 0" not in temps
    # unique labels stay as they are
    assert temps["Package id 0"] == 51.0
    assert temps["Package id 1"] == 47.0


def test_identical_package_labels_are_prefixed_too(copy_machine):
    sys_dir = copy_machine("duplicate-labels")
    label = inside(sys_dir / "class" / "hwmon" / "hwmon1" / "temp1_label", sys_dir)
    label.write_text("Package id 0\n")
    temps = names(LinuxHwmonDriver(sys_dir).read(), "temperature")
    assert temps[:6] == [
        "coretemp.hwmon0 Package id 0",
        "coretemp.hwmon0 Core 0",
        "coretemp.hwmon0 Core 1",
        "coretemp.hwmon1 Package id 0",
        "coretemp.hwmon1 Core 0",
        "coretemp.hwmon1 Core 1",
    ]


def test_duplicate_unlabelled_names_get_hwmon_index():
    result = LinuxHwmonDriver(TREES["duplicate-labels"] / "sys").read()
    assert names(result, "fanspeed") == ["w83627hf fan1", "pmbus.hwmon10 fan1", "pmbus.hwmon11 fan1"]
    assert "pmbus.hwmon11 temp2" in names(result, "temperature")


def test_names_do_not_depend_on_which_reads_succeed(copy_machine):
    sys_dir = copy_machine("duplicate-labels")
    core0 = inside(sys_dir / "class" / "hwmon" / "hwmon1" / "temp2_input", sys_dir)
    core0.write_text("garbage\n")
    temps = names(LinuxHwmonDriver(sys_dir).read(), "temperature")
    assert "coretemp.hwmon1 Core 0" not in temps  # unreadable, so skipped
    assert "coretemp.hwmon0 Core 0" in temps  # its file still exists, so the clash stays


def test_same_label_twice_on_one_chip_falls_back_to_attribute_name(tmp_path):
    make_chip(tmp_path, 0, {
        "name": "nct6775",
        "temp1_label": "AUXTIN0", "temp1_input": 30000,
        "temp2_label": "AUXTIN0", "temp2_input": 31000,
    })
    make_chip(tmp_path, 1, {"name": "acpitz", "temp1_label": "AUXTIN0", "temp1_input": 32000})
    assert names(LinuxHwmonDriver(tmp_path).read(), "temperature") == [
        "nct6775.hwmon0 temp1",
        "nct6775.hwmon0 temp2",
        "acpitz.hwmon1 AUXTIN0",
    ]


def test_same_label_in_different_kinds_is_not_a_clash(tmp_path):
    make_chip(tmp_path, 0, {
        "name": "pmbus", "in1_label": "vin", "in1_input": 230000,
        "curr1_label": "vin", "curr1_input": 900,
    })
    result = LinuxHwmonDriver(tmp_path).read()
    assert names(result, "voltage") == ["vin"]
    assert names(result, "current") == ["vin"]


def test_device_subfolder_layout_is_read():
    chip = TREES["duplicate-labels"] / "sys" / "class" / "hwmon" / "hwmon2"
    assert not (chip / "name").exists() and (chip / "device" / "name").exists()
    result = LinuxHwmonDriver(chip.parent.parent.parent).read()
    assert by_name(result, "temperature")["w83627hf temp1"] == 36.0
    assert by_name(result, "voltage")["w83627hf in0"] == 1.104
    assert by_name(result, "current")["w83627hf curr1"] == 1.83
    assert by_name(result, "fanspeed")["w83627hf fan1"] == 4687


def test_hwmon_dir_wins_over_device_subfolder(tmp_path):
    make_chip(
        tmp_path, 0,
        {"name": "newname", "temp1_input": 40000},
        device_files={"name": "oldname", "temp1_input": 99000, "temp2_input": 41000},
    )
    assert LinuxHwmonDriver(tmp_path).read()["temperature"] == [
        {"name": "newname temp1", "value": 40.0, "unit": "Celsius"},
        {"name": "newname temp2", "value": 41.0, "unit": "Celsius"},
    ]


def test_chip_without_name_file_is_named_after_hwmon_dir(tmp_path):
    make_chip(tmp_path, 3, {"temp1_input": 40000})
    assert names(LinuxHwmonDriver(tmp_path).read(), "temperature") == ["hwmon3 temp1"]


def test_clashing_names_of_a_chip_without_name_are_not_prefixed_twice(tmp_path):
    make_chip(tmp_path, 4, {"temp1_label": "CPU", "temp1_input": 40000, "temp2_input": 41000})
    make_chip(tmp_path, 5, {"name": "acpitz", "temp1_label": "CPU", "temp1_input": 42000})
    make_chip(tmp_path, 6, {"temp1_label": "Board", "temp1_input": 43000, "temp2_label": "Board", "temp2_input": 44000})
    assert names(LinuxHwmonDriver(tmp_path).read(), "temperature") == [
        "hwmon4 CPU", "hwmon4 temp2", "acpitz.hwmon5 CPU", "hwmon6 temp1", "hwmon6 temp2",
    ]


def test_chips_and_sensors_ordered_numerically(tmp_path):
    make_chip(tmp_path, 10, {"name": "late", "temp1_input": 1000})
    make_chip(tmp_path, 2, {"name": "early", "temp10_input": 3000, "temp2_input": 2000})
    assert names(LinuxHwmonDriver(tmp_path).read(), "temperature") == [
        "early temp2", "early temp10", "late temp1",
    ]


def test_non_sensor_attributes_are_ignored():
    # nct6775 also exposes intrusion0_alarm, pwm1_enable, cpu0_vid...; none are sensors
    result = LinuxHwmonDriver(TREES["desktop-q370"] / "sys").read()
    assert all(not n.startswith("nct6775 intrusion") for n in names(result, "voltage"))
    assert len(result["voltage"]) == 8
