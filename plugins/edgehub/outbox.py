"""The durable outbox between ``POST /edgehub/api/data`` and the broker: nothing answered 201 is lost.

A SQLite database in WAL mode with full sync (``ctx.state.sqlite``). ``put`` returns once its message is
committed; puts that arrive together share one transaction (group commit: one fsync per batch, not per
POST), and acknowledgements (``ack``: the broker's PUBACKs) are deleted in the same transactions. Rows
are only ever removed by a PUBACK or by the bound: when more than ``max_messages`` are queued the oldest
are dropped and counted (``dropped``). Ids never repeat (AUTOINCREMENT), so "sent up to id N" is
meaningful across restarts: a row at or below the highest id ever sent that is sent again may already
have reached the broker (QoS 1 after a reconnect or a crash) and is counted in ``duplicates``.

Rows committed by this run are also kept in memory (``TAIL_ROWS`` at most, in id order): the link
reads what it sends next from there, not from the database, while what it asks for is newer than the
oldest row kept (after a restart, or when it has fallen far behind, it reads the database).

Every SQLite call runs through ``run_blocking`` (the gevent threadpool in the daemon, so an fsync never
stalls the event loop) on one connection, one call at a time; a single writer thread does every write.
"""
from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable, Iterable

log = logging.getLogger("portald.plugins.edgehub.outbox")

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS outbox"
    " (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)
COUNTERS = ("dropped", "duplicates", "sent_upto", "rejected")
TAIL_ROWS = 20_000


class OutboxClosed(RuntimeError):
    pass


class _Batch:
    def __init__(self):
        self.rows: list[tuple[str, bytes]] = []
        self.done = threading.Event()
        self.error: BaseException | None = None


class Outbox:
    def __init__(self, conn, max_messages: int, run_blocking: Callable = lambda fn: fn()):
        self._conn, self.max_messages, self._run = conn, max_messages, run_blocking
        self._db_lock = threading.Lock()
        self._cond = threading.Condition()
        self._batch = _Batch()
        self._acks: list[int] = []
        self._closed = False
        self._db(self._init_schema)
        self.depth = self._db(lambda: self._conn.execute("SELECT count(*) FROM outbox").fetchone()[0])
        stored = dict(self._db(lambda: self._conn.execute("SELECT key, value FROM meta").fetchall()))
        self.counters = {name: int(stored.get(name, 0)) for name in COUNTERS}
        self._counters_dirty = False
        # every row committed since the first commit of this run with an id >= _tail_floor, in id order
        self._tail: list[tuple[int, str, bytes]] = []
        self._tail_floor: int | None = None
        self._oldest_kept = 0
        self.on_commit: Callable[[], None] = lambda: None
        self._writer = threading.Thread(target=self._write_loop, name="edgehub-outbox", daemon=True)
        self._writer.start()

    # -- the API's side ------------------------------------------------------------------------------
    def put(self, topic: str, payload: bytes, timeout: float = 30.0) -> None:
        """Queue one message; returns once it is on disk. Raises ``OSError`` when the commit failed."""
        with self._cond:
            if self._closed:
                raise OutboxClosed("the outbox is closed")
            batch = self._batch
            batch.rows.append((topic, payload))
            self._cond.notify()
        if not batch.done.wait(timeout):
            raise OSError("the outbox did not commit in time")
        if batch.error is not None:
            raise OSError(f"the outbox could not store the message: {batch.error}")

    # -- the link's side -----------------------------------------------------------------------------
    def pending(self, after_id: int, limit: int) -> list[tuple[int, str, bytes]]:
        """Queued messages with an id above ``after_id``, oldest first (acknowledged ones may still be
        among them until their delete is committed; the caller skips what it knows is acknowledged)."""
        with self._cond:
            if self.depth <= 0:
                return []
            if self._tail_floor is not None and after_id + 1 >= self._tail_floor:
                start = bisect.bisect_right(self._tail, after_id, key=lambda row: row[0])
                return self._tail[start:start + limit]
        return self._db(lambda: self._conn.execute(
            "SELECT id, topic, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)).fetchall())

    def ack(self, ids: Iterable[int]) -> None:
        """The broker has these (PUBACK): delete them with the next commit."""
        with self._cond:
            self._acks.extend(ids)
            self._cond.notify()

    def count(self, name: str, increment: int = 1) -> None:
        with self._cond:
            self.counters[name] += increment
            self._counters_dirty = True

    def note_sent(self, row_id: int) -> bool:
        """Record that ``row_id`` went to the broker; True when it had been sent before (a possible
        duplicate, counted)."""
        with self._cond:
            again = row_id <= self.counters["sent_upto"]
            if again:
                self.counters["duplicates"] += 1
            else:
                self.counters["sent_upto"] = row_id
            self._counters_dirty = True
        return again

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._writer.join(10)
        self._db(self._conn.close)

    # -- the writer ----------------------------------------------------------------------------------
    def _db(self, fn):
        with self._db_lock:
            return self._run(fn)

    def _init_schema(self):
        for statement in SCHEMA:
            self._conn.execute(statement)

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not (self._batch.rows or self._acks or self._counters_dirty or self._closed):
                    self._cond.wait()
                if self._closed and not (self._batch.rows or self._acks or self._counters_dirty):
                    return
                batch, self._batch = self._batch, _Batch()
                acks, self._acks = self._acks, []
                counters = dict(self.counters)
                self._counters_dirty = False
            try:
                added, dropped, last_id = self._db(lambda: self._commit(batch.rows, acks, counters))
            except Exception as exc:  # a full disk, a damaged file: the POSTs of this batch get the error
                log.error("cannot commit %d message(s) to the outbox: %s", len(batch.rows), exc)
                batch.error = exc
                with self._cond:
                    self._acks[:0] = acks
            else:
                with self._cond:
                    self.depth += added
                    if batch.rows:
                        self._keep_tail(batch.rows, last_id)
                    if dropped:  # what the bound dropped is not sent any more
                        self._tail = [row for row in self._tail if row[0] >= self._oldest_kept]
                    if dropped:
                        self.counters["dropped"] += dropped
                        self._counters_dirty = True
                if dropped:
                    log.warning("outbox full (%d messages): dropped the %d oldest", self.max_messages, dropped)
            batch.done.set()
            if batch.rows and batch.error is None:
                self.on_commit()

    def _keep_tail(self, rows, last_id: int) -> None:
        """Remember committed rows (ids are consecutive within a commit: one writer, AUTOINCREMENT)."""
        first = last_id - len(rows) + 1
        if self._tail_floor is None:
            self._tail_floor = first
        self._tail.extend((first + i, topic, payload) for i, (topic, payload) in enumerate(rows))
        if len(self._tail) > TAIL_ROWS:
            del self._tail[:len(self._tail) - TAIL_ROWS // 2]
            self._tail_floor = self._tail[0][0]

    def _commit(self, rows, acks, counters) -> tuple[int, int, int]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            last_id = 0
            if rows:
                conn.executemany("INSERT INTO outbox (topic, payload) VALUES (?, ?)", rows)
                last_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            removed = 0
            if acks:
                before = conn.total_changes
                conn.executemany("DELETE FROM outbox WHERE id = ?", ((i,) for i in acks))
                removed = conn.total_changes - before
            depth = self.depth + len(rows) - removed
            dropped = 0
            if depth > self.max_messages:
                before = conn.total_changes
                conn.execute("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)",
                             (depth - self.max_messages,))
                dropped = conn.total_changes - before
                counters["dropped"] += dropped
                self._oldest_kept = conn.execute("SELECT min(id) FROM outbox").fetchone()[0] or 0
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", counters.items())
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return len(rows) - removed - dropped, dropped, last_id
