"""The built-in ``admin`` account (login with ``m=2``).

Its password is kept as a salted scrypt hash in ``state_dir/admin-password.json`` (0600). With no file,
the password is the factory default ``p@ssw0rd`` and tokens issued for it are good only for changing it.
Every change or reset increments a generation number that admin tokens carry, which revokes all
earlier admin tokens at once.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os

from ..state import StateStore

USERNAME = "admin"
DEFAULT_PASSWORD = "p@ssw0rd"
_FILE = "admin-password.json"
log = logging.getLogger("portald.auth")
# scrypt work factors: ~50 ms on a small edge CPU, 16 MiB of memory
_N, _R, _P = 2 ** 14, 8, 1


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 * 1024, dklen=32)


class AdminAccount:
    def __init__(self, store: StateStore):
        self._store = store
        self.damaged = False
        try:
            record = store.read_json(_FILE) or {"generation": 0}
            if "hash" in record:
                base64.b64decode(record["salt"], validate=True), base64.b64decode(record["hash"], validate=True)
            int(record.get("generation", 0))
        except (ValueError, TypeError, KeyError, AttributeError):
            # Never fall back to the factory password: that would hand the device to whoever asks
            # first. Admin-account logins are refused until an operator resets the file (README).
            log.error("%s is damaged: admin-account logins are refused until it is removed "
                      "(which resets the admin password to the default)", store.path(_FILE))
            self.damaged = True
            record = {"generation": 0, "hash": "", "salt": ""}
        self._record = record

    @property
    def generation(self) -> int:
        return int(self._record.get("generation", 0))

    @property
    def is_default(self) -> bool:
        return "hash" not in self._record

    def verify(self, password: str) -> bool:
        """Constant-time check; slow by design (call it from the threadpool)."""
        if self.damaged:
            return False
        if self.is_default:
            return hmac.compare_digest(password.encode(), DEFAULT_PASSWORD.encode())
        salt = base64.b64decode(self._record["salt"])
        return hmac.compare_digest(_hash(password, salt), base64.b64decode(self._record["hash"]))

    def set_password(self, password: str) -> None:
        salt = os.urandom(16)
        record = {"generation": self.generation + 1, "salt": base64.b64encode(salt).decode(),
                  "hash": base64.b64encode(_hash(password, salt)).decode(), "scrypt": [_N, _R, _P]}
        self._store.write_json(_FILE, record, secret=True)
        self._record = record

    def reset(self) -> None:
        record = {"generation": self.generation + 1}
        self._store.write_json(_FILE, record, secret=True)
        self._record = record
