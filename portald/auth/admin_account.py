"""The built-in ``admin`` account (login with ``m=2``).

Its password is kept as a salted scrypt hash in ``state_dir/admin-password.json`` (0600). With no file,
the password is the factory default ``p@ssw0rd`` and tokens issued for it are good only for changing it.
Every change or reset increments a generation number that admin tokens carry, which revokes all
earlier admin tokens at once.

The file is the truth, also for a running daemon: it is read again when it changes (looked at with a
``stat`` at most once a second, not per request), so ``portald admin reset-password`` on the device, or
removing the file, takes effect within a second — and revokes the admin tokens — without a restart.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import time

from ..state import StateStore

USERNAME = "admin"
DEFAULT_PASSWORD = "p@ssw0rd"
# a new admin password's length, for the API (PasswordBody) and `portald admin reset-password` alike
NEW_PASSWORD_MIN, NEW_PASSWORD_MAX = 8, 128
_FILE = "admin-password.json"
log = logging.getLogger("portald.auth")
# scrypt work factors: ~50 ms on a small edge CPU, 16 MiB of memory
_N, _R, _P = 2 ** 14, 8, 1
RECHECK_SECONDS = 1.0  # how often a running daemon looks whether the file was changed behind its back


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 * 1024, dklen=32)


class AdminAccount:
    def __init__(self, store: StateStore):
        self._store = store
        self._stamp: tuple | None = ()
        self._looked = float("-inf")  # time.monotonic() of the last stat
        self._current()

    def _file_stamp(self) -> tuple | None:
        try:
            st = self._store.path(_FILE).stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _current(self) -> dict:
        now = time.monotonic()
        if now - self._looked < RECHECK_SECONDS:
            return self._record
        self._looked = now
        stamp = self._file_stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            self._record, self.damaged = self._load()
        return self._record

    def _load(self) -> tuple[dict, bool]:
        try:
            record = self._store.read_json(_FILE) or {"generation": 0}
            if "hash" in record:
                base64.b64decode(record["salt"], validate=True), base64.b64decode(record["hash"], validate=True)
            int(record.get("generation", 0))
            return record, False
        except (ValueError, TypeError, KeyError, AttributeError):
            # Never fall back to the factory password: that would hand the device to whoever asks
            # first. Admin-account logins are refused until an operator resets the file (README).
            log.error("%s is damaged: admin-account logins are refused until it is removed "
                      "(which resets the admin password to the default) or portald admin reset-password "
                      "sets a new one", self._store.path(_FILE))
            return {"generation": 0, "hash": "", "salt": ""}, True

    @property
    def generation(self) -> int:
        return int(self._current().get("generation", 0))

    @property
    def is_default(self) -> bool:
        return "hash" not in self._current()

    def verify(self, password: str) -> bool:
        """Constant-time check; slow by design (call it from the threadpool)."""
        record = self._current()
        if self.damaged:
            return False
        if "hash" not in record:
            return hmac.compare_digest(password.encode(), DEFAULT_PASSWORD.encode())
        salt = base64.b64decode(record["salt"])
        return hmac.compare_digest(_hash(password, salt), base64.b64decode(record["hash"]))

    def set_password(self, password: str) -> None:
        salt = os.urandom(16)
        record = {"generation": self._next_generation(), "salt": base64.b64encode(salt).decode(),
                  "hash": base64.b64encode(_hash(password, salt)).decode(), "scrypt": [_N, _R, _P]}
        self._write(record)

    def reset(self) -> None:
        self._write({"generation": self._next_generation()})

    def _next_generation(self) -> int:
        # at least the clock's seconds: after the file was removed or damaged (generation 0 again), a
        # plain +1 could bring back a number that tokens issued long ago still carry
        return max(self.generation + 1, int(time.time()))

    def _write(self, record: dict) -> None:
        self._store.write_json(_FILE, record, secret=True)
        self._record, self.damaged, self._stamp = record, False, self._file_stamp()
