"""Simulated control for the virtual board: reboot and shutdown are logged and counted, never executed;
the display's power is kept in the board's state folder (``control.json``) across restarts, on at first
start. Display power is always supported."""
from __future__ import annotations

import logging

from . import saved

log = logging.getLogger(__name__)

FILE = "control.json"
DEFAULT = {"display": "on", "reboots": 0, "shutdowns": 0}


def _well_formed(data) -> bool:
    return (isinstance(data, dict) and data.get("display") in ("on", "off")
            and all(type(data.get(key)) is int and data[key] >= 0 for key in ("reboots", "shutdowns")))


class SimControl:
    name = "sim.control"

    def __init__(self, state):
        self._state = state
        self.saved = saved.load(state, FILE, "control", DEFAULT, _well_formed)

    def probe(self) -> bool:
        return True

    def reboot(self) -> None:
        self._count("reboots")
        log.info("sim board: reboot recorded (%d so far), nothing executed", self.saved["reboots"])

    def shutdown(self) -> None:
        self._count("shutdowns")
        log.info("sim board: shutdown recorded (%d so far), nothing executed", self.saved["shutdowns"])

    def display_supported(self) -> bool:
        return True

    def set_display(self, on: bool) -> None:
        self.saved = {**self.saved, "display": "on" if on else "off"}
        self._state.write_json(FILE, self.saved)

    def display_on(self) -> bool:
        return self.saved["display"] == "on"

    def _count(self, key: str) -> None:
        self.saved = {**self.saved, key: self.saved[key] + 1}
        self._state.write_json(FILE, self.saved)


CAPABILITY = "control"


def create_driver(ctx, settings=None):
    return SimControl(ctx.state)
