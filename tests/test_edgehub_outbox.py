"""The EdgeHub outbox alone: group commit (many concurrent puts, few transactions), order, the bound,
acknowledgements, and the duplicate count across a restart."""
from __future__ import annotations

import threading

from portald.state import StateStore
from portald_plugins.edgehub.outbox import Outbox


def _open(tmp_path, max_messages=1000) -> Outbox:
    return Outbox(StateStore(tmp_path / "state").sqlite("outbox.db"), max_messages)


def test_concurrent_puts_share_commits_and_keep_their_order(tmp_path):
    outbox = _open(tmp_path, 10_000)
    commits = []
    outbox.on_commit = lambda: commits.append(1)
    try:
        def producer(k):
            for n in range(200):
                outbox.put("data", f"{k}:{n}".encode())

        threads = [threading.Thread(target=producer, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rows = outbox.pending(0, 10_000)
        assert len(rows) == 1600 == outbox.depth
        assert len(commits) < 1600  # one fsync per batch, not per put
        for k in range(8):  # each producer's messages in the order it put them
            mine = [int(p.split(b":")[1]) for _i, _t, p in rows if p.startswith(f"{k}:".encode())]
            assert mine == list(range(200))
        assert [i for i, _t, _p in rows] == sorted(i for i, _t, _p in rows)
    finally:
        outbox.close()


def test_acks_delete_and_a_restart_counts_what_is_sent_again(tmp_path):
    outbox = _open(tmp_path)
    for n in range(10):
        outbox.put("data", str(n).encode())
    rows = outbox.pending(0, 100)
    for row_id, _t, _p in rows[:6]:
        assert outbox.note_sent(row_id) is False
    outbox.ack([row_id for row_id, _t, _p in rows[:4]])
    outbox.close()

    again = _open(tmp_path)  # a crash after rows 5 and 6 went out without their PUBACK
    try:
        left = again.pending(0, 100)
        assert [p for _i, _t, p in left] == [str(n).encode() for n in range(4, 10)] and again.depth == 6
        for row_id, _t, _p in left:
            again.note_sent(row_id)
        assert again.counters["duplicates"] == 2
    finally:
        again.close()


def test_the_bound_drops_the_oldest_and_survives_a_restart(tmp_path):
    outbox = _open(tmp_path, 10)
    for n in range(15):
        outbox.put("data", str(n).encode())
    assert outbox.depth == 10 and outbox.counters["dropped"] == 5
    assert [p for _i, _t, p in outbox.pending(0, 100)] == [str(n).encode() for n in range(5, 15)]
    outbox.close()
    again = _open(tmp_path, 10)
    try:
        assert again.depth == 10 and again.counters["dropped"] == 5
    finally:
        again.close()
