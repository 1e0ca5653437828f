"""Failed-login throttling, per account and per client address.

Each failure within ``failure_window_seconds`` adds to a count; the failing request is answered after a
delay that doubles with the count (``failure_delay_seconds`` … ``failure_delay_max_seconds``), and at
``max_failures`` the account or address is locked out for ``lockout_seconds`` (429 with Retry-After),
without the password even being checked. A success clears the account's count. Counts live in memory:
a restart forgives, which is acceptable as the lockout is short.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(self, max_failures: int, window: float, lockout: float, delay: float, delay_max: float,
                 clock=time.monotonic):
        self.max_failures, self.window, self.lockout = max_failures, window, lockout
        self.delay, self.delay_max, self.clock = delay, delay_max, clock
        self._records: dict[tuple[str, str], _Record] = {}

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

    def failed(self, account: str, address: str) -> float:
        """Record a failure; returns how long to delay the answer."""
        now = self.clock()
        worst = 0
        for key in self._keys(account, address):
            record = self._records.setdefault(key, _Record())
            record.failures = [t for t in record.failures if now - t < self.window] + [now]
            if len(record.failures) >= self.max_failures:
                record.locked_until = now + self.lockout
                record.failures.clear()
            worst = max(worst, len(record.failures))
        self._prune(now)
        return min(self.delay * (2 ** max(worst - 1, 0)), self.delay_max) if self.delay else 0.0

    def succeeded(self, account: str) -> None:
        self._records.pop(("account", account), None)

    def _prune(self, now: float) -> None:
        if len(self._records) < 10000:
            return
        for key in [k for k, r in self._records.items()
                    if r.locked_until <= now and not any(now - t < self.window for t in r.failures)]:
            del self._records[key]
