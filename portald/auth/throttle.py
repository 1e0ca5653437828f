"""Failed-login throttling: per (account, client address), per address, and account-wide.

Every attempt is counted *before* its credentials are checked and uncounted when they turn out right,
so a burst of parallel attempts cannot all slip past the check while the first ones are still running.

- (account, address): ``max_failures`` attempts within ``failure_window_seconds`` lock that account
  *from that address* for ``lockout_seconds`` (429 with Retry-After), without the password being checked.
- address: ``address_max_failures`` attempts (any accounts) lock the address out for ``lockout_seconds``.
- account: ``account_max_failures`` consecutive failed attempts from all addresses together lock the
  account for ``account_lockout_seconds`` -- but only for addresses that have failed against it
  themselves: the right password from an address without failures is always checked, so nobody can
  lock the owner out from elsewhere.

A failed attempt is answered after a delay that doubles with the (account, address) or address count
(``failure_delay_seconds`` ... ``failure_delay_max_seconds``). A success forgets the account's
failures and that attempt. Counts live in memory: a restart forgives, acceptable as lockouts are short.
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


@dataclass(frozen=True)
class Policy:
    max_failures: int = 5
    window: float = 900.0
    lockout: float = 300.0
    delay: float = 0.5
    delay_max: float = 4.0
    address_max_failures: int = 20
    account_max_failures: int = 100
    account_lockout: float = 60.0


class LoginThrottle:
    def __init__(self, policy: Policy, clock=time.monotonic):
        self.policy, self.clock = policy, clock
        self._records: dict[tuple[str, ...], _Record] = {}
        self._ids = itertools.count(1)

    def _limits(self, account: str, address: str) -> list[tuple[tuple[str, ...], int, float]]:
        p = self.policy
        return [(("pair", account, address), p.max_failures, p.lockout),
                (("address", address), p.address_max_failures, p.lockout),
                (("account", account), p.account_max_failures, p.account_lockout)]

    def _has_failed_here(self, account: str, address: str, now: float) -> bool:
        record = self._records.get(("pair", account, address))
        return record is not None and (record.locked_until > now or
                                       any(now - t < self.policy.window for t in record.attempts.values()))

    def retry_after(self, account: str, address: str) -> int:
        """Seconds until this account may be tried again from this address; 0 when it may now."""
        now = self.clock()
        wait = 0.0
        for key, _, _ in self._limits(account, address):
            record = self._records.get(key)
            if not record or record.locked_until <= now:
                continue
            if key[0] == "account" and not self._has_failed_here(account, address, now):
                continue  # the account-wide lock never applies to an address without failures
            wait = max(wait, record.locked_until - now)
        return int(wait + 0.999)

    def attempt(self, account: str, address: str) -> int:
        """Count an attempt before checking it; returns its id for ``succeeded``/``failed``."""
        now, attempt = self.clock(), next(self._ids)
        for key, limit, lockout in self._limits(account, address):
            record = self._records.setdefault(key, _Record())
            record.attempts = {i: t for i, t in record.attempts.items() if now - t < self.policy.window}
            record.attempts[attempt] = now
            if len(record.attempts) >= limit:
                record.locked_until, record.locked_by = now + lockout, attempt
                record.attempts.clear()
        self._prune(now)
        return attempt

    def failed(self, account: str, address: str, attempt: int) -> float:
        """The attempt was wrong (it stays counted); returns how long to delay the answer."""
        p = self.policy
        if not p.delay:
            return 0.0
        counts = [len(self._records.get(key, _Record()).attempts) for key, _, _ in self._limits(account, address)[:2]]
        worst = max(counts) or p.max_failures
        return min(p.delay * (2 ** max(worst - 1, 0)), p.delay_max)

    def succeeded(self, account: str, address: str, attempt: int) -> None:
        """Right credentials: forget the account's failures and this attempt at the address."""
        self._records.pop(("account", account), None)
        self._records.pop(("pair", account, address), None)
        record = self._records.get(("address", address))
        if record is not None:
            record.attempts.pop(attempt, None)
            if record.locked_by == attempt:
                record.locked_until, record.locked_by = 0.0, None

    def withdraw(self, account: str, address: str, attempt: int) -> None:
        """The attempt was refused before its credentials were checked: it does not count."""
        for key, _, _ in self._limits(account, address):
            record = self._records.get(key)
            if record is not None:
                record.attempts.pop(attempt, None)

    def _prune(self, now: float) -> None:
        if len(self._records) < 10000:
            return
        for key in [k for k, r in self._records.items()
                    if r.locked_until <= now and not any(now - t < self.policy.window for t in r.attempts.values())]:
            del self._records[key]
