"""The Linux LED driver against LED class trees laid out as the kernel lays them out.

Committed fixtures (tests/fixtures/machines/rpi4, tests/fixtures/cases/empty) are only read; tests that write copy one to tmp_path.
"""
from __future__ import annotations

import errno
import logging
import shutil

import pytest

from conftest import FIXTURES, admin_token, bearer
from portald_plugins.boards.linux.led import LinuxLedDriver

RPI4 = FIXTURES / "machines" / "rpi4" / "sys" / "class" / "leds"


@pytest.fixture
def leds(tmp_path):
    shutil.copytree(FIXTURES / "machines" / "rpi4", tmp_path / "rpi4", symlinks=True)
    return tmp_path / "rpi4" / "sys" / "class" / "leds"


def _selected_trigger(led_dir) -> str:
    return next(word for word in (led_dir / "trigger").read_text().split() if word.startswith("["))


def test_fixture_leds_are_class_symlinks_into_devices():
    assert all(entry.is_symlink() and "/devices/" in str(entry.resolve()) for entry in RPI4.iterdir())


def test_default_is_every_led_sorted_by_name():
    driver = LinuxLedDriver(RPI4)
    assert driver.probe() is True
    assert driver.count() == 5
    assert [driver.get(i) for i in range(5)] == [False, True, True, False, False]


def test_configured_names_missing_on_this_machine_are_left_out_with_a_warning(caplog):
    driver = LinuxLedDriver(RPI4, ["input0::capslock", "user:green:run", "ACT"])
    with caplog.at_level(logging.WARNING):
        assert driver.probe() is True
    assert driver.count() == 2 and driver.get(0) is True and driver.get(1) is False
    assert "user:green:run" in caplog.text


def test_probe_false_without_leds(tmp_path):
    assert LinuxLedDriver(FIXTURES / "cases" / "empty" / "sys" / "class" / "leds").probe() is False
    assert LinuxLedDriver(tmp_path / "no-such-dir").probe() is False
    assert LinuxLedDriver(RPI4, []).probe() is False
    assert LinuxLedDriver(RPI4, ["nothing-here"]).probe() is False


def test_on_writes_max_brightness_of_that_led(leds):
    driver = LinuxLedDriver(leds, ["input0::numlock", "ACT"])
    driver.probe()
    driver.set(0, True)
    driver.set(1, True)
    assert (leds / "input0::numlock" / "brightness").read_text().strip() == "1"
    assert (leds / "ACT" / "brightness").read_text().strip() == "255"
    driver.set(1, False)
    assert (leds / "ACT" / "brightness").read_text().strip() == "0"


def test_setting_an_led_removes_its_trigger_so_the_state_sticks(leds):
    driver = LinuxLedDriver(leds, ["ACT"])
    driver.probe()
    assert _selected_trigger(leds / "ACT") == "[mmc0]"
    driver.set(0, True)
    assert (leds / "ACT" / "trigger").read_text().strip() == "none"


def test_led_without_active_trigger_is_left_alone(leds):
    trigger = leds / "ACT" / "trigger"
    trigger.write_text("[none] timer heartbeat\n")
    driver = LinuxLedDriver(leds, ["ACT"])
    driver.probe()
    driver.set(0, True)
    assert trigger.read_text() == "[none] timer heartbeat\n"


def test_garbage_brightness_is_an_oserror(leds):
    (leds / "PWR" / "brightness").write_text("on\n")
    driver = LinuxLedDriver(leds, ["PWR"])
    driver.probe()
    with pytest.raises(OSError) as caught:
        driver.get(0)
    assert caught.value.errno == errno.EIO


def test_bad_names_config_skips_the_driver_and_the_daemon_still_serves(make_app):
    app = make_app(board="auto", sysfs_root=str(FIXTURES / "machines" / "rpi4" / "sys"), plugins={"linux": {"led": {"names": "ACT"}}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    assert client.get("/platform/api/perif/led", headers=headers).status_code == 404
    assert client.get("/platform/api/ping").status_code == 200
