"""The EdgeBus broker process: started, watched, restarted and stopped by the daemon.

``EdgeBus`` owns the on/off state (``edgebus.json`` in the plugin's state folder, so it survives a
restart), the daemon's broker account (``client.json``, 0600: a generated user name and password the
daemon's own client, and local applications run by root, log in with), one Mosquitto process and the
daemon's ``$SYS`` client (``monitor.SysMonitor``).

The process is started with ``gevent.subprocess`` on the event loop (never from a threadpool thread),
in its own session, with its stderr forwarded line by line to the daemon's log (``_forward``; the last
lines are kept for the error a failed start answers with). One greenlet waits for it; when it dies while wanted, it is
started again after a backoff of 0.5 s doubling up to ``restart_backoff_max_seconds``, reset once a
broker has run ``stable_seconds``. Its pid is kept in ``broker.pid`` of the broker folder: a broker left
behind by a daemon killed with SIGKILL (same executable, same config path) is stopped before a new one
starts, so it cannot hold the port. Stop: SIGTERM, then SIGKILL after 5 s.
"""
from __future__ import annotations

import logging
import secrets
import time
from collections import deque
from pathlib import Path

import gevent
import psutil
from gevent import subprocess

from portald.drivers import DriverError
from portald.runner import stop_child

from . import broker_files
from .monitor import SysMonitor, broker_status, empty_status

STATE_FILE, CLIENT_FILE, PID_FILE = "edgebus.json", "client.json", "broker.pid"
FIRST_BACKOFF = 0.5
STOP_GRACE_SECONDS = 5.0


class EdgeBus:
    def __init__(self, driver, settings, state, log: logging.Logger):
        self.driver, self.settings, self.state, self.log = driver, settings, state, log
        self.folder: Path = driver.broker_dir()
        self.proc: subprocess.Popen | None = None
        self.monitor: SysMonitor | None = None
        self.restarts = 0
        self.stderr_tail: deque[str] = deque(maxlen=10)
        self._wanted = False
        self._watcher: gevent.Greenlet | None = None
        self._started_at = 0.0

    # -- the persisted switch -----------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        try:
            saved = self.state.read_json(STATE_FILE, default={})
        except ValueError:
            self.log.warning("%s is not JSON; EdgeBus taken as disabled", self.state.path(STATE_FILE))
            return False
        return bool(saved.get("enabled", False)) if isinstance(saved, dict) else False

    def set_enabled(self, enabled: bool) -> None:
        """Persist the switch, then start or stop the broker. Raises ``DriverError`` when the broker
        does not come up (the switch stays on: it is retried with backoff, and at the next start)."""
        self.state.write_json(STATE_FILE, {"enabled": enabled})
        if enabled:
            self.start()
            self.wait_ready()
        else:
            self.stop()

    def resume(self) -> None:
        """At the daemon's start: the broker again if it was on (not waited for)."""
        if self.enabled:
            self.start()

    # -- the account ----------------------------------------------------------------------------------
    def credentials(self) -> tuple[str, str]:
        """(user name, password) of the broker account, generated on first use and kept 0600."""
        saved = None
        try:
            saved = self.state.read_json(CLIENT_FILE)
        except ValueError:
            pass
        if not (isinstance(saved, dict) and saved.get("username") == self.settings.username
                and isinstance(saved.get("password"), str) and saved["password"]):
            saved = {"username": self.settings.username, "password": secrets.token_urlsafe(32)}
            self.state.write_json(CLIENT_FILE, saved, secret=True)
        return saved["username"], saved["password"]

    # -- the process ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self._wanted:
            return
        self._wanted = True
        self._reclaim()
        username, password = self.credentials()
        try:
            self._launch()
        except (OSError, KeyError) as exc:
            self.log.error("cannot start the EdgeBus broker: %s", exc)
        self.monitor = SysMonitor(self._client_host(), self.settings.port, username, password, self.log)
        self.monitor.start()
        self._watcher = gevent.spawn(self._watch)

    def wait_ready(self) -> None:
        """Until the daemon's client is logged in on the broker (it proves the listener and the
        password file), at most ``start_timeout_seconds``; ``DriverError`` with the broker's last
        words otherwise."""
        deadline = time.monotonic() + self.settings.start_timeout_seconds
        while time.monotonic() < deadline:
            if not self._wanted:
                raise DriverError("the EdgeBus was turned off meanwhile")
            if self.monitor is not None and self.monitor.connected:
                return
            gevent.sleep(0.05)
        said = "; ".join(self.stderr_tail) or "no output"
        raise DriverError(f"the EdgeBus broker did not come up within {self.settings.start_timeout_seconds:g} s "
                          f"(mosquitto: {said}); it is retried")

    def stop(self) -> None:
        self._wanted = False
        if self._watcher is not None:
            self._watcher.kill()
            self._watcher = None
        if self.monitor is not None:
            self.monitor.stop()
            self.monitor = None
        if self.proc is not None:
            self._terminate(self.proc)
            self.proc = None
        self._forget_pid()

    def _launch(self) -> None:
        username, password = self.credentials()
        config = broker_files.prepare(self.folder, self.driver.run_user(), username, password,
                                      list(self.settings.listen_addresses), self.settings.port,
                                      self.settings.sys_interval_seconds)
        self.stderr_tail.clear()
        proc = subprocess.Popen([self.driver.executable(), "-c", str(config)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace",
                                start_new_session=True, close_fds=True)
        self.proc, self._started_at = proc, time.monotonic()
        (self.folder / PID_FILE).write_text(f"{proc.pid}\n")
        gevent.spawn(self._forward, proc)
        self.log.info("EdgeBus broker started (pid %d, port %d on %s)", proc.pid, self.settings.port,
                      ", ".join(self.settings.listen_addresses))

    def _watch(self) -> None:
        backoff = FIRST_BACKOFF
        while self._wanted:
            if self.proc is not None:
                code = self.proc.wait()
                ran = time.monotonic() - self._started_at
                if not self._wanted:
                    return
                if ran >= self.settings.stable_seconds:
                    backoff = FIRST_BACKOFF
                self.log.warning("EdgeBus broker (pid %d) exited with %s after %.1f s; restarting in %.1f s",
                                 self.proc.pid, code, ran, backoff)
                self.proc = None
            gevent.sleep(backoff)
            backoff = min(backoff * 2, self.settings.restart_backoff_max_seconds)
            if not self._wanted:
                return
            try:
                self._launch()
                self.restarts += 1
            except (OSError, KeyError) as exc:
                self.log.error("cannot restart the EdgeBus broker: %s", exc)

    def _forward(self, proc: subprocess.Popen) -> None:
        """The broker's log into the daemon's: its errors and warnings as warnings, the rest (start-up
        notices, every client's connect and disconnect) at debug level, so a busy broker does not
        flood the daemon's log."""
        for line in proc.stderr:
            line = line.rstrip()
            if line:
                self.stderr_tail.append(line)
                level = logging.WARNING if line.startswith(("Error", "Warning")) else logging.DEBUG
                self.log.log(level, "mosquitto[%d]: %s", proc.pid, line)
        proc.stderr.close()

    def _terminate(self, proc: subprocess.Popen) -> None:
        stop_child(proc, STOP_GRACE_SECONDS, self.log)
        self.log.info("EdgeBus broker (pid %d) stopped", proc.pid)

    def _reclaim(self) -> None:
        """Stop a broker a previous daemon run left behind (this executable with this config)."""
        try:
            pid = int((self.folder / PID_FILE).read_text().strip())
            left = psutil.Process(pid)
            if left.cmdline() != [self.driver.executable(), "-c", str(self.folder / "mosquitto.conf")]:
                return
            self.log.warning("stopping the EdgeBus broker (pid %d) a previous run left behind", pid)
            left.terminate()
            left.wait(STOP_GRACE_SECONDS)
        except psutil.TimeoutExpired:
            left.kill()
        except (OSError, ValueError, psutil.Error):
            return

    def _forget_pid(self) -> None:
        try:
            (self.folder / PID_FILE).unlink()
        except OSError:
            pass

    def _client_host(self) -> str:
        address = self.settings.listen_addresses[0]
        return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(address, address)

    # -- the status ---------------------------------------------------------------------------------
    def status(self) -> dict:
        enabled = self.enabled
        if not (self._wanted and self.monitor is not None):
            return {"enabled": enabled, "mqttBrokerStatus": empty_status(), "clientStatus": "disconnected"}
        figures = broker_status(self.monitor.values(), self.proc.pid if self.running else None)
        return {"enabled": enabled, "mqttBrokerStatus": figures,
                "clientStatus": "connected" if self.monitor.connected else "disconnected"}
