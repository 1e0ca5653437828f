"""The watchdog's life inside the daemon: applying what an administrator asks, remembering it, petting
the armed hardware from a greenlet, and what happens at start and stop. No Flask here.

Petting: while the driver is armed, one greenlet calls ``keepalive()`` every timeout/3 seconds, so two
missed rounds still leave a margin. It is a greenlet on purpose: if the daemon's event loop hangs (a
blocking call, a livelock) the petting stops and the board resets, which is the whole point. A failed
keepalive is logged and retried on the next round, never allowed to end the loop silently.

Remembered intent (``state_dir/plugins/wdt/wdt.json``): ``{"enabled": bool, "seconds": int}``, written
atomically after every successful change.
"""
from __future__ import annotations

import logging

from typing import Protocol

import gevent
import gevent.lock

from portald.errors import AreaError

STATE_FILE = "wdt.json"
AREA = "WDT"


class Policy(Protocol):
    """What start and stop do (``[plugins.wdt]``, the plugin's ``Settings``)."""

    restore_on_start: bool
    disarm_on_shutdown: bool


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


class WatchdogControl:
    def __init__(self, driver, store, settings: Policy, log: logging.Logger):
        self.driver, self.store, self.settings, self.log = driver, store, settings, log
        self.petter: gevent.Greenlet | None = None
        self.pet_interval: float | None = None
        self._lock = gevent.lock.RLock()

    # -- reading ---------------------------------------------------------------------------------------
    def info(self) -> dict:
        try:
            return self.driver.info()
        except OSError as exc:
            raise AreaError(AREA, f"cannot read the watchdog: {_reason(exc)}") from None

    # -- changes from the API --------------------------------------------------------------------------
    def switch(self, enabled: bool, seconds: int | None, who: str) -> dict:
        with self._lock:
            if seconds is not None:
                self._check_range(seconds)
            try:
                if enabled:
                    self.driver.enable(seconds)
                else:
                    self.driver.disable()
                    if seconds is not None:
                        self.driver.set_timeout(seconds)
            except OSError as exc:
                raise AreaError(AREA, f"cannot {'enable' if enabled else 'disable'} the watchdog: "
                                      f"{_reason(exc)}") from None
            finally:
                self._sync_petting()
            now = self._remember()
        self.log.info("watchdog %s by %s (timeout %d s)", "enabled" if now["enabled"] else "disabled", who,
                      now["timeout"])
        return now

    def set_timeout(self, seconds: int, who: str) -> dict:
        with self._lock:
            self._check_range(seconds)
            try:
                self.driver.set_timeout(seconds)
            except OSError as exc:
                raise AreaError(AREA, f"cannot set the watchdog timeout: {_reason(exc)}") from None
            finally:
                self._sync_petting()
            now = self._remember()
        self.log.info("watchdog timeout set to %d s by %s", now["timeout"], who)
        return now

    def _check_range(self, seconds: int) -> None:
        info = self.info()
        if not info["min"] <= seconds <= info["max"]:
            raise AreaError(AREA, f"seconds must be between {info['min']} and {info['max']}, got {seconds}")

    def _remember(self) -> dict:
        now = self.info()
        try:
            self.store.write_json(STATE_FILE, {"enabled": bool(self.driver.armed), "seconds": now["timeout"]})
        except OSError as exc:
            self.log.error("cannot save the watchdog state: %s", exc)
            raise AreaError(AREA, "applied, but it could not be saved and will not survive a restart: "
                                  f"{_reason(exc)}") from None
        return now

    # -- petting ---------------------------------------------------------------------------------------
    def _sync_petting(self) -> None:
        """Pet while the driver is armed, every timeout/3 of its current timeout."""
        if not self.driver.armed:
            self._stop_petting()
            return
        try:
            interval = max(1, self.driver.info()["timeout"]) / 3
        except OSError:
            interval = self.pet_interval or 1 / 3
        if self.petter is not None and not self.petter.dead and interval == self.pet_interval:
            return
        self._stop_petting()
        self.pet_interval = interval
        self.petter = gevent.spawn(self._pet, interval)

    def _pet(self, interval: float) -> None:
        while True:
            gevent.sleep(interval)
            try:
                with self._lock:
                    self.driver.keepalive()
            except Exception as exc:  # keep trying: a dead loop would reset the board
                self.log.error("watchdog keepalive failed (the board resets if this persists): %s", exc)

    def _stop_petting(self) -> None:
        if self.petter is not None:
            self.petter.kill(block=True, timeout=2)
            self.petter = None

    # -- start and stop --------------------------------------------------------------------------------
    def _saved(self) -> dict:
        try:
            saved = self.store.read_json(STATE_FILE, {})
        except ValueError as exc:
            self.log.warning("ignoring unreadable %s: %s", STATE_FILE, exc)
            return {}
        return saved if isinstance(saved, dict) else {}

    def restore(self) -> None:
        """At start: re-arm when it was enabled before (``restore_on_start``) and re-apply the timeout."""
        saved = self._saved() if self.settings.restore_on_start else {}
        with self._lock:
            try:
                info = self.driver.info()
                seconds = saved.get("seconds")
                if type(seconds) is not int:
                    seconds = None
                elif not info["min"] <= seconds <= info["max"]:
                    clamped = min(max(seconds, info["min"]), info["max"])
                    self.log.warning("saved watchdog timeout %d s is outside this hardware's %d..%d s; using %d s",
                                     seconds, info["min"], info["max"], clamped)
                    seconds = clamped
                if saved.get("enabled") is True:
                    self.driver.enable(seconds)
                    self.log.info("watchdog re-armed at start, as it was before (timeout %d s)",
                                  self.driver.info()["timeout"])
                else:
                    if seconds is not None:
                        self.driver.set_timeout(seconds)
                    if info["enabled"] and not self.driver.armed:
                        self.log.warning("the watchdog is already running, not started by this portald run "
                                         "(firmware, systemd, or a previous run that left it armed); portald "
                                         "leaves it alone and does not pet it")
            except OSError as exc:
                self.log.error("cannot restore the watchdog at start: %s", _reason(exc))
            finally:
                self._sync_petting()

    def shutdown(self) -> None:
        with self._lock:
            self._stop_petting()
            if not self.driver.armed:
                return
            try:
                if self.settings.disarm_on_shutdown:
                    self.driver.disable()
                    self.log.info("watchdog disarmed for a clean stop")
                else:
                    timeout = self.driver.info()["timeout"]
                    self.driver.release()
                    self.log.warning("watchdog left armed at stop: the board resets in %d s unless portald "
                                     "starts again and takes it over", timeout)
            except OSError as exc:
                self.log.error("could not disarm the watchdog at stop (%s): it stays armed and the board "
                               "resets unless portald starts again in time", _reason(exc))
