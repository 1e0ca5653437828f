"""Remote desktop sessions: the ids ``POST /platform/api/rdesk/config`` hands out, the one VNC server
they share, and its lifetime.

- A session id is a random UUID, good for one WebSocket, which must be opened within
  ``session_seconds`` of the POST, by the same account; after that, once used, or for another
  account, the id is unknown (404).
- All sessions share one VNC server, started by the first POST (with a fresh 8-character password)
  and reused by the next ones while it runs (they get the same password: VNC authentication has one
  per server). It stops when its last session ends: the last WebSocket closes, or the last id expires
  unused. The next POST then starts a new server with a new password.
- At most ``max_sessions`` sessions (ids not yet used plus open WebSockets) at a time.

Everything runs on the event loop; one lock orders starts and stops of the server.
"""
from __future__ import annotations

import logging
import secrets
import string
import time
import uuid
from dataclasses import dataclass, field

import gevent
import gevent.lock

from portald.drivers import DriverError

log = logging.getLogger("portald.plugins.rdesk")

PASSWORD_LENGTH = 8  # VNC authentication (RFB security type 2) uses the first 8 bytes only
_ALPHABET = string.ascii_letters + string.digits


def new_password() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(PASSWORD_LENGTH))


class TooMany(DriverError):
    """The session cap is reached."""


@dataclass
class _Session:
    expires: float  # time.monotonic() by which the WebSocket must open
    owner: str  # the account that asked for it
    opened: bool = False
    timer: gevent.Greenlet | None = field(default=None, repr=False)


class Desk:
    def __init__(self, driver, session_seconds: float, max_sessions: int):
        self.driver, self.session_seconds, self.max_sessions = driver, session_seconds, max_sessions
        self._sessions: dict[str, _Session] = {}
        self._lock = gevent.lock.RLock()
        self._password: str | None = None
        self._port = 0

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, who: str) -> tuple[str, str]:
        """A new session: ``(id, password)``. Starts the server when none runs; raises ``TooMany``,
        or the driver's ``DriverError`` when the server cannot start."""
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                raise TooMany(f"too many remote desktop sessions (at most {self.max_sessions})")
            if self._password is None or not self.driver.running():
                if self._password is not None:
                    log.warning("the VNC server had stopped on its own; starting a new one")
                    self._drop_all()
                password = new_password()
                self._port = self.driver.start(password)
                self._password = password
            session_id = str(uuid.uuid4())
            session = _Session(time.monotonic() + self.session_seconds, who)
            session.timer = gevent.spawn_later(self.session_seconds, self._expire, session_id)
            self._sessions[session_id] = session
            log.info("remote desktop session %s for %s (%d open)", session_id, who, len(self._sessions))
            return session_id, self._password

    def claim(self, session_id: str, who: str) -> int | None:
        """Use an id for its WebSocket: the VNC server's port, or None when the id is unknown,
        expired, used already, or another account's (or the server is gone)."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or session.opened or time.monotonic() >= session.expires:
                return None
            if session.owner != who:
                log.warning("%s tried the remote desktop session of %s", who, session.owner)
                return None
            if not self.driver.running():
                self._drop_all()
                return None
            session.opened = True
            if session.timer is not None:
                session.timer.kill(block=False)
            return self._port

    def end(self, session_id: str) -> None:
        """A session is over (its WebSocket closed, or its id expired): stop the server after the last."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
            if session is None:
                return
            if session.timer is not None and session.timer is not gevent.getcurrent():
                session.timer.kill(block=False)
            if not self._sessions:
                self._stop()

    def _expire(self, session_id: str) -> None:
        session = self._sessions.get(session_id)
        if session is not None and not session.opened:
            log.info("remote desktop session %s expired unused", session_id)
            self.end(session_id)

    def _drop_all(self) -> None:
        for session in self._sessions.values():
            if session.timer is not None and session.timer is not gevent.getcurrent():
                session.timer.kill(block=False)
        self._sessions.clear()
        self._stop()

    def _stop(self) -> None:
        self._password, self._port = None, 0
        self.driver.stop()

    def close(self) -> None:
        """Daemon shutdown: forget every session and stop the server (open relays then end)."""
        with self._lock:
            self._drop_all()
