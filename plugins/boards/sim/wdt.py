"""The sim board's watchdog (capability ``wdt``): an embedded-controller watchdog, "EC Watchdog", with a
timeout register of 10..255 s, like the one the spec's example describes.

It behaves like the hardware: once enabled it counts down from the last keepalive, and if nobody pets it
within the timeout it *expires* — on a real board that is the reset. The sim cannot reset the machine,
so it records the expiry (``expiries``: the wall-clock times the board would have reset) and comes back
disarmed, as an EC does after the reset it caused. Time is checked lazily on every call, against the
wall clock (``clock``, replaceable in tests), so an expiry is noticed even across a daemon restart: a
daemon that dies without disarming leaves the sim armed with the time of its last keepalive.

State (the sim board's state folder, ``watchdog.json``): ``enabled``, ``timeout``, ``last_pet`` and the
last 20 ``expiries``; written atomically on every change and keepalive (every timeout/3 while enabled,
which is fine for a development board).

Errors are ``OSError`` like the Linux driver's: EINVAL for a timeout outside the register's range.
"""
from __future__ import annotations

import errno
import logging
import time
from typing import Callable

log = logging.getLogger(__name__)

CAPABILITY = "wdt"
TYPE = "EC Watchdog"
MIN_TIMEOUT, MAX_TIMEOUT, DEFAULT_TIMEOUT = 10, 255, 60
STATE_FILE = "watchdog.json"
KEEP_EXPIRIES = 20


class SimWatchdogDriver:
    name = "sim.wdt"

    def __init__(self, store, clock: Callable[[], float] = time.time):
        self.store, self.clock = store, clock
        self._state = {"enabled": False, "timeout": DEFAULT_TIMEOUT, "last_pet": 0.0, "expiries": []}
        try:
            saved = store.read_json(STATE_FILE, None) or {}
            self._state = {"enabled": bool(saved.get("enabled", False)),
                           "timeout": int(saved.get("timeout", DEFAULT_TIMEOUT)),
                           "last_pet": float(saved.get("last_pet", 0.0)),
                           "expiries": [float(t) for t in saved.get("expiries", [])][-KEEP_EXPIRIES:]}
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("sim watchdog state unreadable, starting from defaults: %s", exc)

    def probe(self) -> bool:
        return True

    @property
    def expiries(self) -> list[float]:
        self._check()
        return list(self._state["expiries"])

    @property
    def last_pet(self) -> float:
        """Wall-clock time of the last keepalive (or of arming)."""
        return self._state["last_pet"]

    @property
    def armed(self) -> bool:
        self._check()
        return self._state["enabled"]

    def info(self) -> dict:
        self._check()
        return {"type": TYPE, "enabled": self._state["enabled"], "timeout": self._state["timeout"],
                "min": MIN_TIMEOUT, "max": MAX_TIMEOUT}

    def enable(self, seconds: int | None = None) -> None:
        self._check()
        if seconds is not None:
            self._in_range(seconds)
            self._state["timeout"] = seconds
        self._state.update(enabled=True, last_pet=self.clock())
        self._save()

    def set_timeout(self, seconds: int) -> None:
        self._check()
        self._in_range(seconds)
        self._state["timeout"] = seconds
        if self._state["enabled"]:
            # an EC reloads its counter when the timeout register is written
            self._state["last_pet"] = self.clock()
        self._save()

    def keepalive(self) -> None:
        self._check()
        if self._state["enabled"]:
            self._state["last_pet"] = self.clock()
            self._save()

    def disable(self) -> None:
        self._check()
        self._state["enabled"] = False
        self._save()

    def release(self) -> None:
        """Stop talking to it without disarming: it keeps counting down."""
        self._check()
        self._save()

    def _in_range(self, seconds: int) -> None:
        if not MIN_TIMEOUT <= seconds <= MAX_TIMEOUT:
            raise OSError(errno.EINVAL, f"timeout must be {MIN_TIMEOUT}..{MAX_TIMEOUT} s")

    def _check(self) -> None:
        state = self._state
        if state["enabled"] and self.clock() - state["last_pet"] > state["timeout"]:
            expired_at = state["last_pet"] + state["timeout"]
            state["expiries"] = (state["expiries"] + [expired_at])[-KEEP_EXPIRIES:]
            state["enabled"] = False
            log.warning("sim watchdog expired %.0f s after the last keepalive: a real board would have "
                        "reset at %s", state["timeout"], time.strftime("%Y-%m-%d %H:%M:%S",
                                                                        time.localtime(expired_at)))
            self._save()

    def _save(self) -> None:
        self.store.write_json(STATE_FILE, self._state)


def create_driver(ctx, settings=None):
    return SimWatchdogDriver(ctx.state)
