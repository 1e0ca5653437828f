"""The contract between capability plugins and boards: every driver the linux, sim and example OEM
boards offer satisfies the ``typing.Protocol`` of the capability it is offered for, and the checker
itself catches what it must (a missing method, a method that cannot take the interface's arguments)."""
from __future__ import annotations

import importlib
import importlib.metadata
import sys
from pathlib import Path
from typing import Protocol

import pytest

from portald import contract
from portald.board import driver_modules
from portald.capability import Capability
from portald.drivers import Driver

from conftest import write_dropin

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "acme-board"


# --- the checker --------------------------------------------------------------------------------

class Thermometer(Driver, Protocol):
    __optional__ = ("close",)

    def read(self, channel: int, *, fresh: bool = False) -> float: ...

    def close(self) -> None: ...


class GoodThermometer:
    name = "test.thermometer"

    def probe(self):
        return True

    def read(self, channel, *, fresh=False, extra=None):
        return 20.0


def test_a_conforming_driver_has_no_problems():
    assert contract.problems(GoodThermometer(), Thermometer) == []


def test_a_missing_method_or_attribute_is_reported():
    class NoRead:
        def probe(self):
            return True

    found = contract.problems(NoRead(), Thermometer)
    assert "missing read" in found and "missing name" in found
    assert not any("close" in problem for problem in found)  # optional


@pytest.mark.parametrize("read, expected", [
    ("def read(self): return 1.0", "takes fewer arguments"),
    ("def read(self, channel): return 1.0", "keyword 'fresh'"),
    ("def read(self, channel, unit, *, fresh=False): return 1.0", "requires 'unit'"),
    ("def read(self, channel, *, fresh=False, scale): return 1.0", "requires the keyword 'scale'"),
    ("read = 5", "read is not callable"),
])
def test_a_method_that_cannot_take_the_interfaces_calls_is_reported(read, expected):
    namespace: dict = {}
    exec(f"class Bad:\n    name = 'bad'\n    def probe(self): return True\n    {read}\n", namespace)
    found = contract.problems(namespace["Bad"](), Thermometer)
    assert any(expected in problem for problem in found), found


def test_the_core_skips_a_driver_that_does_not_conform(make_app, tmp_path):
    write_dropin(tmp_path, "oldboard",
        "from portald.hookspecs import hookimpl\n\n"
        "class OldHwmon:\n    name = 'old.hwmon'\n    def probe(self):\n        return True\n"
        "    def readings(self):\n        return {}\n\n"
        "@hookimpl(tryfirst=True)\ndef portald_drivers(ctx):\n    return {'hwmon': OldHwmon()}\n")
    host = make_app().extensions["portald"].host
    assert host.choices["hwmon"].name == "sim.hwmon"  # the next candidate, not the broken one
    record = host.records["oldboard"]
    assert record.state == "failed" and "HwmonDriver" in record.reason and "missing read" in record.reason


# --- every board's drivers ------------------------------------------------------------------------

def _protocols() -> dict[str, type]:
    """capability -> Protocol, from the declarations of the built-in capability plugins."""
    found = {}
    for ep in importlib.metadata.entry_points(group="portald.plugins"):
        if ep.dist is not None and ep.dist.name == "portald":
            main = getattr(ep.load(), "CAPABILITY", None)
            for declared in (main, *main.also) if isinstance(main, Capability) else ():
                if declared.protocol is not None:
                    found[declared.name] = declared.protocol
    return found


def test_every_board_driver_module_serves_a_declared_capability():
    protocols = _protocols()
    for board in ("portald_plugins.boards.linux", "portald_plugins.boards.sim"):
        for module in driver_modules(board):
            assert module.CAPABILITY in protocols, f"{module.__name__}: no plugin declares {module.CAPABILITY!r}"


# Settings that make every linux driver module build its driver (paths need not exist: building a
# driver reads nothing; probing it would, and is not needed to check its shape).
LINUX_SETTINGS = {
    "gpio": {"lines": [0, 1]},
    "led": {"names": ["green:status"]},
    "power": {"vin1": {"type": "power_supply", "name": "AC1"}, "vin2": {"type": "power_supply", "name": "AC2"}},
    "etp": {"eeprom": "bus/i2c/devices/0-0050/eeprom"},
}


def _offered(make_app, **config) -> list:
    host = make_app(**config).extensions["portald"].host
    return [choice for candidates in host.candidates.values() for choice in candidates]


def test_every_driver_of_the_linux_and_sim_boards_satisfies_its_capabilitys_protocol(make_app):
    protocols = _protocols()
    offered = _offered(make_app) + _offered(make_app, board="auto", plugins={"linux": LINUX_SETTINGS})
    checked = {}
    for choice in offered:
        if choice.plugin not in ("linux", "sim"):
            continue
        problems = contract.problems(choice.driver, protocols[choice.capability])
        assert not problems, f"{choice.plugin} {choice.name} ({choice.capability}): {problems}"
        checked.setdefault(choice.plugin, set()).add(choice.capability)
    for board in ("linux", "sim"):
        modules = {m.CAPABILITY for m in driver_modules(f"portald_plugins.boards.{board}")}
        assert modules <= checked.get(board, set()), f"{board}: drivers never built: {modules - checked.get(board, set())}"


def _acme_modules() -> dict:
    return {n: m for n, m in sys.modules.items() if n == "acme_board" or n.startswith("acme_board.")}


def test_the_example_oem_boards_drivers_satisfy_the_protocols():
    # other tests import an acme_board of their own: put theirs aside, import the example's, restore
    theirs = _acme_modules()
    for name in theirs:
        del sys.modules[name]
    sys.path.insert(0, str(EXAMPLE))
    try:
        drivers = importlib.import_module("acme_board.drivers")
        protocol = importlib.import_module("acme_board.protocol")
        board = drivers.Board(protocol.McuLink(str(EXAMPLE / "no-such-tty"), timeout=0.1))
        protocols = _protocols()
        for capability, driver in (("gpio", drivers.AcmeGpioDriver(board)), ("led", drivers.AcmeLedDriver(board))):
            assert contract.problems(driver, protocols[capability]) == [], (capability, driver)
    finally:
        sys.path.remove(str(EXAMPLE))
        for name in _acme_modules():
            del sys.modules[name]
        sys.modules.update(theirs)
