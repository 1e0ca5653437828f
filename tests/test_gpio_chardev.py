"""The GPIO character-device driver (libgpiod v2).

This machine has no GPIO chip and cannot load gpio-sim or gpio-mockup (no modules, no configfs), so
the driver never meets a real kernel chip here. What is real: the probe against real device nodes
(no chip, ``/dev/null`` which is a character device but not a GPIO chip) with the real ``gpiod``
bindings. The rest runs the driver against ``KernelChip``, a stand-in for the kernel behind
``gpiod.Chip`` written from the GPIO uAPI's documented behaviour ("as is" requests change nothing,
setting an input is EPERM, a held line is EBUSY), while the settings objects are gpiod's own.
"""
from __future__ import annotations

import errno
import logging
from types import SimpleNamespace

import gpiod
import pytest
from gpiod.line import Direction, Value

from portald_plugins.boards.linux.gpio_chardev import ChardevGpioDriver

OUTPUT, INPUT = 0, 1


class KernelChip:
    """The state of one chip as the kernel holds it, and what its uAPI does to it."""

    def __init__(self, num_lines: int, outputs=(), high=(), busy=()):
        self.direction = {o: Direction.OUTPUT if o in outputs else Direction.INPUT for o in range(num_lines)}
        self.value = {o: Value.ACTIVE if o in high else Value.INACTIVE for o in range(num_lines)}
        self.busy, self.consumer, self.requested, self.open_handles = set(busy), None, [], 0

    def apply(self, offset: int, settings) -> None:
        settings = settings or gpiod.LineSettings()
        if settings.direction == Direction.OUTPUT:
            self.direction[offset], self.value[offset] = Direction.OUTPUT, settings.output_value
        elif settings.direction == Direction.INPUT:
            self.direction[offset] = Direction.INPUT


class Request:
    def __init__(self, kernel: KernelChip, offsets: list[int]):
        self.kernel, self.offsets = kernel, offsets

    def get_value(self, offset):
        return self.kernel.value[offset]

    def set_value(self, offset, value):
        if self.kernel.direction[offset] != Direction.OUTPUT:
            raise OSError(errno.EPERM, "Operation not permitted")
        self.kernel.value[offset] = value

    def reconfigure_lines(self, config):
        for offset in self.offsets:
            self.kernel.apply(offset, config.get(offset))

    def release(self):
        self.kernel.requested = []


def chip_class(kernel: KernelChip):
    class Chip:
        def __init__(self, path):
            kernel.open_handles += 1

        def get_info(self):
            return SimpleNamespace(num_lines=len(kernel.direction))

        def get_line_info(self, offset):
            return SimpleNamespace(direction=kernel.direction[offset])

        def request_lines(self, config, consumer=None):
            (offsets, settings), = config.items()
            if kernel.busy & set(offsets):
                raise OSError(errno.EBUSY, "Device or resource busy")
            for offset in offsets:
                kernel.apply(offset, settings)
            kernel.consumer, kernel.requested = consumer, list(offsets)
            return Request(kernel, list(offsets))

        def close(self):
            kernel.open_handles -= 1

    return Chip


@pytest.fixture
def kernel(monkeypatch):
    chip = KernelChip(8, outputs={2, 3}, high={3, 6})
    monkeypatch.setattr(gpiod, "is_gpiochip_device", lambda path: path == "/dev/gpiochip0")
    monkeypatch.setattr(gpiod, "Chip", chip_class(chip))
    return chip


def _driver(lines):
    driver = ChardevGpioDriver("/dev/gpiochip0", lines)
    assert driver.probe() is True
    return driver


# --- real: the gpiod bindings and real device nodes ------------------------------------------------

def test_installed_bindings_are_v2():
    assert hasattr(gpiod, "LineSettings") and gpiod.api_version.startswith("2")


def test_probe_false_when_the_chip_is_absent(tmp_path):
    assert ChardevGpioDriver(tmp_path / "gpiochip0", [0, 1]).probe() is False


def test_probe_false_for_a_character_device_that_is_not_a_gpio_chip():
    assert ChardevGpioDriver("/dev/null", [0]).probe() is False


def test_probe_false_without_configured_lines(kernel):
    assert ChardevGpioDriver("/dev/gpiochip0", []).probe() is False


# --- against the stand-in kernel chip --------------------------------------------------------------

def test_lines_are_requested_as_is_so_start_up_changes_no_wire(kernel):
    _driver([6, 3, 2])
    assert kernel.consumer == "portald" and kernel.requested == [6, 3, 2]
    assert kernel.direction[3] == Direction.OUTPUT and kernel.value[3] == Value.ACTIVE
    assert kernel.direction[6] == Direction.INPUT


def test_pins_read_in_configured_order(kernel):
    driver = _driver([6, 3, 2])
    assert driver.count() == 3
    assert [driver.read(pin) for pin in range(3)] == [
        {"dir": INPUT, "level": 1}, {"dir": OUTPUT, "level": 1}, {"dir": OUTPUT, "level": 0}]


def test_switching_to_output_starts_low_and_back_to_input(kernel):
    driver = _driver([6])
    driver.set_dir(0, OUTPUT)
    assert kernel.direction[6] == Direction.OUTPUT and kernel.value[6] == Value.INACTIVE
    driver.set_dir(0, INPUT)
    assert kernel.direction[6] == Direction.INPUT


def test_reconfiguring_one_line_leaves_the_other_outputs_driving(kernel):
    driver = _driver([3, 6])
    driver.set_dir(1, OUTPUT)
    assert kernel.direction[3] == Direction.OUTPUT and kernel.value[3] == Value.ACTIVE


def test_same_direction_keeps_the_driven_level(kernel):
    driver = _driver([3])
    driver.set_dir(0, OUTPUT)
    assert kernel.value[3] == Value.ACTIVE


def test_set_level_drives_the_line_and_inputs_refuse(kernel):
    driver = _driver([2, 6])
    driver.set_level(0, 1)
    assert kernel.value[2] == Value.ACTIVE and driver.read(0)["level"] == 1
    with pytest.raises(OSError) as caught:
        driver.set_level(1, 1)
    assert caught.value.errno == errno.EPERM


def test_busy_line_makes_probe_false_and_closes_the_chip(kernel, caplog):
    kernel.busy = {5}
    with caplog.at_level(logging.WARNING):
        assert ChardevGpioDriver("/dev/gpiochip0", [4, 5]).probe() is False
    assert "busy" in caplog.text and kernel.open_handles == 0


def test_offset_past_the_chip_makes_probe_false(kernel, caplog):
    with caplog.at_level(logging.WARNING):
        assert ChardevGpioDriver("/dev/gpiochip0", [7, 8]).probe() is False
    assert "no line [8]" in caplog.text and kernel.open_handles == 0 and kernel.requested == []


def test_close_releases_the_lines_and_the_chip(kernel):
    driver = _driver([2])
    driver.close()
    assert kernel.requested == [] and kernel.open_handles == 0
    driver.close()  # twice is harmless


def test_character_device_is_preferred_over_sysfs_when_it_has_the_lines(kernel, make_app):
    from conftest import FIXTURES, admin_token, bearer

    app = make_app(board="auto", sysfs_root=str(FIXTURES / "machines" / "rpi4" / "sys"), dev_root="/dev",
                   plugins={"linux": {"gpio": {"lines": [3, 6]}}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    assert client.get("/platform/api/plugins", headers=headers).get_json()["drivers"]["gpio"]["driver"] == \
        "linux.gpio-chardev"
    assert client.get("/platform/api/perif/gpio/all", headers=headers).get_json() == [
        {"pin": 0, "dir": OUTPUT, "level": 1}, {"pin": 1, "dir": INPUT, "level": 1}]
    app.extensions["portald"].shutdown()
    assert kernel.requested == [] and kernel.open_handles == 0
