"""Atomic durable writes: a killed writer never leaves a half-written file; secrets are 0600."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from portald.state import StateStore, atomic_write


def test_atomic_write_replaces_content_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "a" / "doc.json"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert os.listdir(target.parent) == ["doc.json"]


def test_secret_files_are_created_0600(tmp_path):
    store = StateStore(tmp_path / "state")
    store.write_json("secret.json", {"k": 1}, secret=True)
    assert store.path("secret.json").stat().st_mode & 0o777 == 0o600
    assert store.root.stat().st_mode & 0o777 == 0o700
    assert store.read_json("secret.json") == {"k": 1}
    assert store.read_json("missing.json", default={}) == {}


WRITER = """
import sys
from portald.state import atomic_write
i = 0
while True:
    atomic_write(sys.argv[1], (str(i % 10) * 2_000_000).encode())
    i += 1
"""


def test_killed_writer_never_leaves_a_half_written_file(tmp_path):
    target = tmp_path / "big.bin"
    atomic_write(target, b"x" * 2_000_000)
    for delay in (0.05, 0.11, 0.23, 0.37):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = target.read_bytes()
        assert len(data) == 2_000_000
        assert data == data[:1] * 2_000_000  # one write, whole: never a mix or a truncation


def test_sqlite_store_uses_wal(tmp_path):
    conn = StateStore(tmp_path).sqlite("q.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
