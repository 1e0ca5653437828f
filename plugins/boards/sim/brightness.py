"""A simulated display backlight for the virtual board: brightness 0 to 9 (the spec's example range),
5 at first start, kept in the sim board's state folder (``brightness.json``) across restarts."""
from __future__ import annotations


from . import saved


MIN, MAX, DEFAULT = 0, 9, 5
FILE = "brightness.json"


def _load(state) -> int:
    saved_state = saved.load(state, FILE, "brightness", {"value": DEFAULT}, lambda data: isinstance(data, dict) and (
        type(data.get("value", DEFAULT)) is int and MIN <= data.get("value", DEFAULT) <= MAX))
    return saved_state.get("value", DEFAULT)


class SimBrightnessDriver:
    name = "sim.brightness"

    def __init__(self, state):
        self._state = state
        self._value = _load(state)

    def probe(self) -> bool:
        return True

    def read(self) -> dict[str, int]:
        return {"min": MIN, "max": MAX, "value": self._value}

    def write(self, value: int) -> None:
        if not MIN <= value <= MAX:
            raise OSError(f"brightness {value} outside {MIN}..{MAX}")
        self._state.write_json(FILE, {"value": value})
        self._value = value


CAPABILITY = "brightness"


def create_driver(ctx, settings=None):
    return SimBrightnessDriver(ctx.state)
