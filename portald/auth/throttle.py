"""Failed-login throttling, per account and per client address.

Every attempt is counted *before* its credentials are checked and uncounted when they turn out right,
so a burst of parallel attempts cannot all slip past the check while the first ones are still in PAM.
At ``max_failures`` attempts within ``failure_window_seconds`` the account or address is locked out for
``lockout_seconds`` (429 with Retry-After), without the password even being checked. A failed attempt
is answered after a delay that doubles with the count (``failure_delay_seconds`` …
``failure_delay_max_seconds``). A success clears the account's count. Counts live in memory: a restart
forgives, which is acceptable as the lockout is short.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field


@dataclass
class _Record:
    attempts: dict[int, float] = field(default_factory=dict)  # attempt id -> time
    locked_until: float = 0.0
    locked_by: int | None = None  # the attempt whose count set the lock


class LoginThrottle:
    def __init__(self, max_failures: int, window: float, lockout: float, delay: float, delay_max: float,
                 clock=time.monotonic):
        self.max_failures, self.window, self.lockout = max_failures, window, lockout
        self.delay, self.delay_max, self.clock = delay, delay_max, clock
        self._records: dict[tuple[str, str], _Record] = {}
        self._ids = itertools.count(1)

    def _keys(self, account: str, address: str) -> list[tuple[str, str]]:
        return [("account", account), ("address", address)]

    def retry_after(self, account: str, address: str) -> int:
        """Seconds until a locked account/address may try again; 0 when not locked."""
        now = self.clock()
        wait = 0.0
        for key in self._keys(account, address):
            record = self._records.get(key)
            if record and record.locked_until > now:
                wait = max(wait, record.locked_until - now)
        return int(wait + 0.999)

    def attempt(self, account: str, address: str) -> int:
        """Count an attempt before checking it; returns its id for ``succeeded``/``failed``."""
        now, attempt = self.clock(), next(self._ids)
        for key in self._keys(account, address):
            record = self._records.setdefault(key, _Record())
            record.attempts = {i: t for i, t in record.attempts.items() if now - t < self.window}
            record.attempts[attempt] = now
            if len(record.attempts) >= self.max_failures:
                record.locked_until, record.locked_by = now + self.lockout, attempt
                record.attempts.clear()
        self._prune(now)
        return attempt

    def failed(self, account: str, address: str, attempt: int) -> float:
        """The attempt was wrong (it stays counted); returns how long to delay the answer."""
        counts = [len(self._records.get(key, _Record()).attempts) for key in self._keys(account, address)]
        worst = max(counts) or self.max_failures
        return min(self.delay * (2 ** max(worst - 1, 0)), self.delay_max) if self.delay else 0.0

    def succeeded(self, account: str, address: str, attempt: int) -> None:
        """Right credentials: forget the account's failures and this attempt at the address."""
        self._records.pop(("account", account), None)
        record = self._records.get(("address", address))
        if record is not None:
            record.attempts.pop(attempt, None)
            if record.locked_by == attempt:
                record.locked_until, record.locked_by = 0.0, None

    def _prune(self, now: float) -> None:
        if len(self._records) < 10000:
            return
        for key in [k for k, r in self._records.items()
                    if r.locked_until <= now and not any(now - t < self.window for t in r.attempts.values())]:
            del self._records[key]
