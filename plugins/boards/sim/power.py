"""The sim board's redundant power (capability ``power``): two inputs, both online at first.

There is no API to pull a plug, so ``set_input("vin1", False)`` stands in for it (tests, a developer's
shell); the state is kept in the sim board's state folder (``power.json``) and survives a restart, as
the wiring of a real board would.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)

CAPABILITY = "power"
INPUTS = ("vin1", "vin2")
STATE_FILE = "power.json"


class SimPowerDriver:
    name = "sim.power"

    def __init__(self, store):
        self.store = store
        self._state = {vin: 1 for vin in INPUTS}
        try:
            saved = store.read_json(STATE_FILE, None) or {}
            self._state.update({vin: int(bool(saved[vin])) for vin in INPUTS if vin in saved})
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("sim power state unreadable, both inputs online: %s", exc)

    def probe(self) -> bool:
        return True

    def read(self) -> dict[str, int]:
        return dict(self._state)

    def set_input(self, vin: str, online: bool) -> None:
        if vin not in INPUTS:
            raise ValueError(f"unknown power input {vin!r}; the sim has {', '.join(INPUTS)}")
        self._state[vin] = int(bool(online))
        self.store.write_json(STATE_FILE, self._state)
        log.info("sim power input %s is now %s", vin, "online" if online else "offline")


def create_driver(ctx, settings=None):
    return SimPowerDriver(ctx.state)
