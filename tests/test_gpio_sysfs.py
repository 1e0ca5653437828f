"""The legacy sysfs GPIO driver against a ``class/gpio`` tree laid out as the kernel lays it out
(a Raspberry Pi 4 on kernel 6.6: chip bases from 512, four header lines exported).

The kernel creates ``gpio<N>`` when ``<N>`` is written to ``export``; a fixture file cannot, so these
tests check what is written to ``export`` and use lines the fixture has already exported.
"""
from __future__ import annotations

import errno
import logging
import os
import shutil

import pytest

from conftest import FIXTURES
from portald_plugins.boards.linux.gpio_sysfs import SysfsGpioDriver

RPI4 = FIXTURES / "machines" / "rpi4" / "sys" / "class" / "gpio"
OUTPUT, INPUT = 0, 1


@pytest.fixture
def gpio_class(tmp_path):
    shutil.copytree(FIXTURES / "machines" / "rpi4", tmp_path / "rpi4", symlinks=True)
    return tmp_path / "rpi4" / "sys" / "class" / "gpio"


def _driver(class_dir, lines, chip="gpiochip0"):
    driver = SysfsGpioDriver(class_dir, chip, lines)
    assert driver.probe() is True
    return driver


def test_fixture_is_kernel_shaped():
    assert all(entry.is_symlink() and "/devices/" in str(entry.resolve())
               for entry in RPI4.iterdir() if entry.name.startswith("gpio"))
    assert (RPI4 / "gpiochip512" / "device" / "gpiochip0").is_dir()


def test_chip_name_finds_its_base_through_the_parent_device(gpio_class):
    driver = _driver(gpio_class, [3], chip="gpiochip1")  # raspberrypi-exp-gpio, base 570
    assert (gpio_class / "export").read_text().strip() == "573"
    with pytest.raises(OSError):
        driver.read(0)  # the fixture cannot create gpio573 as the kernel would


def test_chip_without_parent_device_is_found_by_its_own_name(tmp_path):
    chip = tmp_path / "devices" / "virtual" / "gpiochip3"
    legacy = chip / "gpio" / "gpiochip600"
    legacy.mkdir(parents=True)
    (legacy / "base").write_text("600\n")
    (legacy / "ngpio").write_text("16\n")
    (legacy / "device").symlink_to("../../../gpiochip3")
    (tmp_path / "class" / "gpio").mkdir(parents=True)
    (tmp_path / "class" / "gpio" / "gpiochip600").symlink_to(os.path.relpath(legacy, tmp_path / "class" / "gpio"))
    _driver(tmp_path / "class" / "gpio", [15], chip="gpiochip3")
    assert (tmp_path / "class" / "gpio" / "export").read_text().strip() == "615"


def test_probe_false_for_unknown_chip_missing_class_or_no_lines(tmp_path):
    assert SysfsGpioDriver(RPI4, "gpiochip7", [0]).probe() is False
    assert SysfsGpioDriver(tmp_path / "none", "gpiochip0", [0]).probe() is False
    assert SysfsGpioDriver(RPI4, "gpiochip0", []).probe() is False


def test_probe_false_when_a_line_is_past_the_chip(caplog):
    with caplog.at_level(logging.WARNING):
        assert SysfsGpioDriver(RPI4, "gpiochip1", [7, 8]).probe() is False
    assert "8" in caplog.text


def test_exported_lines_are_not_exported_again(gpio_class):
    _driver(gpio_class, [17, 27, 22, 23])
    assert (gpio_class / "export").read_text() == ""


def test_export_failure_is_logged_and_probe_still_true(tmp_path, caplog):
    shutil.copytree(FIXTURES / "machines" / "rpi4", tmp_path / "rpi4", symlinks=True)
    gpio_class = tmp_path / "rpi4" / "sys" / "class" / "gpio"
    (gpio_class / "export").unlink()
    (gpio_class / "export").mkdir()  # writing fails, as EBUSY would
    with caplog.at_level(logging.WARNING):
        driver = _driver(gpio_class, [17, 5])
    assert "cannot export GPIO 517" in caplog.text
    assert driver.read(0) == {"dir": OUTPUT, "level": 1}
    with pytest.raises(OSError) as caught:
        driver.read(1)
    assert caught.value.errno == errno.ENOENT


def test_reads_direction_and_logical_value(gpio_class):
    driver = _driver(gpio_class, [17, 27, 22, 23, 24])
    assert [driver.read(pin) for pin in range(5)] == [
        {"dir": OUTPUT, "level": 1}, {"dir": OUTPUT, "level": 0},
        {"dir": INPUT, "level": 1}, {"dir": INPUT, "level": 0}, {"dir": INPUT, "level": 0},
    ]


def test_switching_to_output_writes_out_which_drives_low(gpio_class):
    driver = _driver(gpio_class, [22])
    driver.set_dir(0, OUTPUT)
    assert (gpio_class / "gpio534" / "direction").read_text().strip() == "out"


def test_active_low_line_switched_to_output_starts_logically_low_in_one_write(gpio_class):
    driver = _driver(gpio_class, [24])  # gpio536 has active_low 1
    driver.set_dir(0, OUTPUT)
    assert (gpio_class / "gpio536" / "direction").read_text().strip() == "high"


def test_same_direction_writes_nothing(gpio_class):
    direction = gpio_class / "gpio529" / "direction"
    before = direction.stat().st_mtime_ns
    driver = _driver(gpio_class, [17])
    driver.set_dir(0, OUTPUT)
    assert direction.read_text().strip() == "out" and direction.stat().st_mtime_ns == before


def test_set_level_writes_value(gpio_class):
    driver = _driver(gpio_class, [27])
    driver.set_level(0, 1)
    assert (gpio_class / "gpio539" / "value").read_text().strip() == "1"
    driver.set_level(0, 0)
    assert driver.read(0) == {"dir": OUTPUT, "level": 0}


@pytest.mark.parametrize("file,text", [("value", "2"), ("value", ""), ("direction", "sideways")])
def test_unexpected_file_contents_are_an_oserror(gpio_class, file, text):
    (gpio_class / "gpio529" / file).write_text(text)
    driver = _driver(gpio_class, [17])
    with pytest.raises(OSError) as caught:
        driver.read(0)
    assert caught.value.errno == errno.EIO
