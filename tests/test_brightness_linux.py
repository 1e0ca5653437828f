"""The Linux backlight driver against backlight class trees laid out as the kernel lays them out."""
from __future__ import annotations

import errno
import shutil

import pytest

from conftest import FIXTURES
from portald_plugins.boards.linux.brightness import LinuxBacklightDriver

LAPTOP = FIXTURES / "machines" / "laptop" / "sys" / "class" / "backlight"


def _copy(tmp_path, machine):
    shutil.copytree(FIXTURES / "machines" / machine, tmp_path / machine, symlinks=True)
    return tmp_path / machine / "sys" / "class" / "backlight"


def test_fixture_backlights_are_class_symlinks_into_devices():
    assert all(entry.is_symlink() and "/devices/" in str(entry.resolve()) for entry in LAPTOP.iterdir())


def test_firmware_interface_beats_raw_whatever_the_names(tmp_path):
    backlights = _copy(tmp_path, "laptop")
    driver = LinuxBacklightDriver(backlights)
    assert driver.probe() and driver.read() == {"min": 0, "max": 15, "value": 10}
    (backlights / "acpi_video0" / "type").write_text("raw\n")  # now both raw: the name decides
    driver = LinuxBacklightDriver(backlights)
    assert driver.probe() and driver.read()["max"] == 15
    (backlights / "intel_backlight" / "type").write_text("platform\n")
    driver = LinuxBacklightDriver(backlights)
    assert driver.probe() and driver.read()["max"] == 19393


def test_probe_false_when_there_is_nothing_to_drive(tmp_path):
    assert LinuxBacklightDriver(FIXTURES / "cases" / "empty" / "sys" / "class" / "backlight").probe() is False
    assert LinuxBacklightDriver(tmp_path / "missing").probe() is False
    assert LinuxBacklightDriver(LAPTOP, device="no_such_backlight").probe() is False


def test_probe_false_when_min_is_above_max():
    assert LinuxBacklightDriver(LAPTOP, device="acpi_video0", minimum=16).probe() is False
    assert LinuxBacklightDriver(LAPTOP, device="acpi_video0", minimum=15).probe() is True


def test_probe_false_when_max_brightness_is_unreadable(tmp_path):
    backlights = _copy(tmp_path, "panel-pc")
    (backlights / "backlight" / "max_brightness").write_text("\n")
    assert LinuxBacklightDriver(backlights).probe() is False


def test_write_then_read_back(tmp_path):
    backlights = _copy(tmp_path, "panel-pc")
    driver = LinuxBacklightDriver(backlights, minimum=1)
    assert driver.probe()
    driver.write(2)
    assert driver.read() == {"min": 1, "max": 7, "value": 2}


def test_garbage_value_is_an_oserror(tmp_path):
    backlights = _copy(tmp_path, "panel-pc")
    driver = LinuxBacklightDriver(backlights)
    assert driver.probe()
    (backlights / "backlight" / "brightness").write_text("bright\n")
    with pytest.raises(OSError) as caught:
        driver.read()
    assert caught.value.errno == errno.EIO
