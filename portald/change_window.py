"""The confirmation window: changes that could cut the operator off are rolled back unless confirmed.

A factory device is often reachable only over the network its API reconfigures. So every such change
(an IPv4 address, DHCP, route order, a Wi-Fi profile) is made through ``ChangeWindow.change``:

1. before the first change, the owner's driver takes a **snapshot** of the known-good configuration,
   which is written to ``state_dir/changes/pending.json`` (0600: a Wi-Fi snapshot holds passphrases)
   *before* anything changes, so a crash in the middle still rolls back;
2. the change is applied; if it fails, the owner's snapshot is **restored at once** and the error is
   raised (an owner's later change joins the window and a failure restores the owner's known-good
   snapshot, undoing its earlier unconfirmed changes too: the state the operator last confirmed);
3. the window closes ``confirm_timeout_seconds`` after the **last** change; a client confirms with
   ``POST /platform/api/networking/changes/<id>/confirm`` over the new network — if it cannot reach
   the device, it cannot confirm, and the snapshots are restored (newest owner first). That is the point.

The record survives a restart of the daemon: ``resume()`` at start-up re-arms the timer, or rolls back
at once when the deadline passed while the daemon was down. A restore that fails is retried every
``RETRY_SECONDS`` and shown as ``rollbackError`` until it succeeds or an administrator confirms.

Owners (plugins) register how to restore and release their snapshots with ``participate``; the drivers
decide what a snapshot is (NetworkManager: a checkpoint that NM rolls back by itself even when the
daemon is dead; netlink: the addresses, routes and files).
"""
from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import gevent
from gevent.lock import RLock

from .state import StateStore

log = logging.getLogger("portald.changes")

FILE = "pending.json"
RETRY_SECONDS = 30.0
CONFIRM_PATH = "/platform/api/networking/changes/{id}/confirm"


@dataclass
class Participant:
    restore: Callable[[dict], None]
    release: Callable[[dict], None]
    extend: Callable[[dict, float], None] | None = None


class NoSuchChange(LookupError):
    """No pending change has that id (confirmed, rolled back, or never made)."""


class ChangeWindow:
    def __init__(self, state: StateStore, timeout_seconds: float):
        self._state = state
        self.timeout_seconds = timeout_seconds
        self._participants: dict[str, Participant] = {}
        self._lock = RLock()
        self._timer: gevent.Greenlet | None = None
        self._record: dict | None = None
        self._loaded = False

    # -- owners ----------------------------------------------------------------------------------------
    def participate(self, owner: str, restore: Callable[[dict], None], release: Callable[[dict], None],
                    extend: Callable[[dict, float], None] | None = None) -> None:
        self._participants[owner] = Participant(restore, release, extend)

    def change(self, owner: str, snapshot: Callable[[float], dict], apply: Callable[[], Any],
               who: str, what: str) -> tuple[Any, dict]:
        """Apply a change under the window; returns ``(apply()'s result, pending description)``.
        Raises what ``snapshot`` or ``apply`` raised (after restoring, for ``apply``)."""
        with self._lock:
            record = self._current() or {"id": secrets.token_hex(8), "opened": time.time(),
                                         "openedBy": who, "changes": []}
            entry = next((e for e in record["changes"] if e["owner"] == owner), None)
            fresh_record = not record["changes"]
            if entry is None:
                entry = {"owner": owner, "snapshot": snapshot(self.timeout_seconds), "what": []}
                record["changes"].append(entry)
            else:
                self._extend(entry)
            entry["what"].append(f"{what} (by {who})")
            record["deadline"] = time.time() + self.timeout_seconds
            record.pop("rollbackError", None)
            self._save(record)
            try:
                result = apply()
            except BaseException:
                log.warning("network change failed: %s by %s; restoring %s's last confirmed configuration",
                            what, who, owner)
                self._restore_entries(record, [entry])
                if fresh_record and not record["changes"]:
                    self._save(None)
                raise
            log.info("network change %s: %s by %s; rolled back unless confirmed within %g s",
                     record["id"], what, who, self.timeout_seconds)
            self._arm(self.timeout_seconds)
            return result, self.describe(record)

    # -- clients ---------------------------------------------------------------------------------------
    def pending(self) -> dict | None:
        with self._lock:
            record = self._current()
            return self.describe(record) if record else None

    def confirm(self, change_id: str, who: str) -> None:
        with self._lock:
            record = self._matching(change_id)
            for entry in record["changes"]:
                participant = self._participants.get(entry["owner"])
                if participant is None:
                    continue
                try:
                    participant.release(entry["snapshot"])
                except Exception as exc:  # a checkpoint NM already dropped: nothing left to release
                    log.warning("releasing %s's snapshot of change %s: %s", entry["owner"], change_id, exc)
            self._cancel()
            self._save(None)
            log.info("network change %s confirmed by %s", change_id, who)

    def roll_back(self, change_id: str, who: str) -> dict | None:
        """Restore now; returns the remaining record when a restore failed (it is retried), else None."""
        with self._lock:
            record = self._matching(change_id)
            log.warning("network change %s: rollback asked by %s", change_id, who)
            return self._roll_back(record)

    # -- lifetime --------------------------------------------------------------------------------------
    def resume(self) -> None:
        """At start-up, once owners have registered: re-arm, or roll back a window that ran out."""
        with self._lock:
            record = self._current()
            if record is None:
                return
            left = record["deadline"] - time.time()
            log.warning("network change %s is waiting for confirmation (%s); %s",
                        record["id"], "; ".join(w for e in record["changes"] for w in e["what"]),
                        f"rolled back in {left:.0f} s unless confirmed" if left > 0 else "its window ran out: rolling back")
            self._arm(max(left, 0.0))

    def shutdown(self) -> None:
        """Stop the timer; the record stays, so the next start resumes the window."""
        self._cancel()

    def describe(self, record: dict) -> dict:
        deadline = record["deadline"]
        found = {
            "id": record["id"],
            "confirmUrl": CONFIRM_PATH.format(id=record["id"]),
            "confirmMethod": "POST",
            "deadline": datetime.fromtimestamp(deadline, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "secondsLeft": max(round(deadline - time.time(), 1), 0.0),
            "timeoutSeconds": self.timeout_seconds,
            "changes": [w for e in record["changes"] for w in e["what"]],
        }
        if record.get("rollbackError"):
            found["rollbackError"] = record["rollbackError"]
        return found

    # -- internals -------------------------------------------------------------------------------------
    def _current(self) -> dict | None:
        if not self._loaded:
            try:
                record = self._state.read_json(FILE)
            except (ValueError, OSError) as exc:
                log.error("pending network change record %s unreadable: %s", self._state.path(FILE), exc)
                record = None
            self._record = record if _well_formed(record) else None
            if record is not None and self._record is None:
                log.error("pending network change record %s malformed: ignored", self._state.path(FILE))
            self._loaded = True
        return self._record

    def _matching(self, change_id: str) -> dict:
        record = self._current()
        # as bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500 for any
        # client that puts one in the URL while a change waits)
        given = change_id.encode("utf-8", "replace")
        if record is None or not secrets.compare_digest(str(record["id"]).encode(), given):
            raise NoSuchChange(change_id)
        return record

    def _save(self, record: dict | None) -> None:
        if record is None:
            self._state.delete(FILE)
        else:
            self._state.write_json(FILE, record, secret=True)
        self._record, self._loaded = record, True

    def _extend(self, entry: dict) -> None:
        participant = self._participants.get(entry["owner"])
        if participant is not None and participant.extend is not None:
            participant.extend(entry["snapshot"], self.timeout_seconds)

    def _restore_entries(self, record: dict, entries: list[dict]) -> bool:
        """Restore ``entries`` newest first, dropping each restored one from the record; False when one
        failed (the record keeps it, with the reason, for a retry)."""
        ok = True
        for entry in reversed(entries):
            participant = self._participants.get(entry["owner"])
            if participant is None:
                log.error("network change %s: no plugin %r to restore its snapshot; dropped",
                          record["id"], entry["owner"])
                record["changes"].remove(entry)
                continue
            try:
                participant.restore(entry["snapshot"])
            except Exception as exc:
                ok = False
                record["rollbackError"] = f"{entry['owner']}: {exc}"
                log.error("network change %s: restoring %s's configuration failed: %s",
                          record["id"], entry["owner"], exc)
                continue
            record["changes"].remove(entry)
        return ok

    def _roll_back(self, record: dict) -> dict | None:
        self._cancel()
        if self._restore_entries(record, list(record["changes"])) and not record["changes"]:
            self._save(None)
            log.warning("network change %s rolled back: the previous configuration is restored", record["id"])
            return None
        self._save(record)
        self._arm(RETRY_SECONDS)
        return record

    def _expire(self) -> None:
        with self._lock:
            self._timer = None
            record = self._current()
            if record is None:
                return
            log.warning("network change %s was not confirmed in time: rolling back", record["id"])
            self._roll_back(record)

    def _arm(self, seconds: float) -> None:
        self._cancel()
        self._timer = gevent.spawn_later(seconds, self._expire)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.kill(block=False)
            self._timer = None


def _well_formed(record: Any) -> bool:
    return (isinstance(record, dict) and isinstance(record.get("id"), str)
            and isinstance(record.get("deadline"), (int, float)) and isinstance(record.get("changes"), list)
            and all(isinstance(e, dict) and isinstance(e.get("owner"), str) and "snapshot" in e
                    and isinstance(e.get("what"), list) for e in record["changes"]))
