"""Eight simulated LEDs for the virtual board, their on/off state kept in the sim board's state folder
(``led.json``) so it survives a restart, as an LED driven by a latch would. First start: LED 0 (power)
on, the others off."""
from __future__ import annotations


from . import saved


COUNT = 8
FILE = "led.json"


def _load(state) -> list[bool]:
    default = [True] + [False] * (COUNT - 1)
    def well_formed(data) -> bool:
        leds = data.get("leds", default) if isinstance(data, dict) else None
        return isinstance(leds, list) and len(leds) == COUNT and all(isinstance(on, bool) for on in leds)

    return saved.load(state, FILE, "LED", {"leds": default}, well_formed).get("leds", default)


class SimLedDriver:
    name = "sim.led"

    def __init__(self, state):
        self._state = state
        self._leds = _load(state)

    def probe(self) -> bool:
        return True

    def count(self) -> int:
        return COUNT

    def get(self, index: int) -> bool:
        return self._leds[index]

    def set(self, index: int, on: bool) -> None:
        leds = list(self._leds)
        leds[index] = on
        self._state.write_json(FILE, {"leds": leds})
        self._leds = leds


CAPABILITY = "led"


def create_driver(ctx, settings=None):
    return SimLedDriver(ctx.state)
