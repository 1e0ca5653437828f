"""Linux LEDs through the LED class: ``<sysfs>/class/leds/<name>/{brightness,max_brightness,trigger}``.

Owns which LEDs are exposed and in what order (``[plugins.linux.led] names``: a list of LED class
names; default every LED, sorted by name), fixed when the driver probes so an index keeps meaning the same
LED, and the mapping of on/off to brightness: logically high is ``brightness > 0``; "on" writes
``max_brightness`` and "off" writes 0. Hardware failures are raised as ``OSError``.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from pydantic import field_validator

from portald.settings import Settings as _Settings

from .sysfs import read_int as _read_int

log = logging.getLogger(__name__)

# The selected trigger is the bracketed word: "none rfkill-any [heartbeat] timer".
_SELECTED = re.compile(r"\[([^\]]*)\]")


class LinuxLedDriver:
    name = "linux.led"
    # LEDs on I2C expanders (pca953x, tca6507, ...) answer sysfs over a bus that can stall: the core runs
    # these calls in the threadpool
    blocking = True

    def __init__(self, class_dir: str | os.PathLike[str], names: list[str] | None = None):
        self._class_dir = Path(class_dir)
        self._wanted = names
        self._leds: list[Path] = []

    def probe(self) -> bool:
        self._leds = self._find()
        if not self._leds:
            log.debug("no LED under %s", self._class_dir)
        return bool(self._leds)

    def count(self) -> int:
        return len(self._leds)

    def get(self, index: int) -> bool:
        return _read_int(self._leds[index] / "brightness") > 0

    def set(self, index: int, on: bool) -> None:
        led = self._leds[index]
        self._stop_trigger(led)
        value = _read_int(led / "max_brightness") if on else 0
        (led / "brightness").write_text(f"{value}\n", encoding="ascii")

    def _find(self) -> list[Path]:
        try:
            present = {entry.name: entry for entry in self._class_dir.iterdir() if entry.is_dir()}
        except OSError:
            return []
        if self._wanted is None:
            return [present[name] for name in sorted(present)]
        missing = [name for name in self._wanted if name not in present]
        if missing:
            log.warning("[plugins.linux.led] names not found under %s, left out: %s", self._class_dir, ", ".join(missing))
        return [present[name] for name in self._wanted if name in present]

    @staticmethod
    def _stop_trigger(led: Path) -> None:
        # A trigger (heartbeat, mmc0 activity, default-on, ...) keeps driving the LED and would undo the
        # state set here moments later. The kernel drops the trigger itself when brightness 0 is
        # written, but a non-zero write only sets the brightness of the blink's "on" phase.
        trigger = led / "trigger"
        try:
            selected = _SELECTED.search(trigger.read_text(encoding="ascii", errors="replace"))
        except FileNotFoundError:
            return  # kernel built without LED triggers
        if selected and selected[1] != "none":
            log.info("LED %s: trigger %s removed to set a steady state", led.name, selected[1])
            trigger.write_text("none\n", encoding="ascii")


CAPABILITY = "led"


class Settings(_Settings):
    """``[plugins.linux.led]``: ``names``, the LED class names exposed, in index order (default: every
    LED, sorted by name)."""

    names: list[str] | None = None

    @field_validator("names")
    @classmethod
    def _class_names(cls, names: list[str] | None) -> list[str] | None:
        if names is not None:
            bad = [name for name in names if not name or "/" in name or name in (".", "..")]
            if bad:
                raise ValueError(f"not LED class names: {bad}")
            if len(set(names)) != len(names):
                raise ValueError("an LED is named twice")
        return names


def create_driver(ctx, settings: Settings):
    return LinuxLedDriver(ctx.paths.sysfs("class", "leds"), settings.names)
