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


def _crashed_write(target, monkeypatch) -> str:
    """What a crash between the temporary file's write and its rename leaves: the temp file itself."""
    left = []
    real_replace = os.replace

    def crash(src, dst):
        left.append(src)
        raise KeyboardInterrupt  # stands for the process dying here

    monkeypatch.setattr(os, "replace", crash)
    monkeypatch.setattr(os, "unlink", lambda path: None)  # a dead process cleans nothing up
    try:
        atomic_write(target, b"half")
    except KeyboardInterrupt:
        pass
    finally:
        monkeypatch.setattr(os, "replace", real_replace)
        monkeypatch.undo()
    return left[0]


def _age(path, seconds: float = 3600) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past), follow_symlinks=False)


def test_stale_temp_files_of_crashed_writes_are_removed_at_start(tmp_path, monkeypatch, caplog):
    store = StateStore(tmp_path / "state")
    store.write_json("keep.json", {"a": 1})
    stale = _crashed_write(store.path("admin-password.json"), monkeypatch)
    nested = _crashed_write(store.path("sim") / "leds.json", monkeypatch)
    recent = _crashed_write(store.path("auth.json"), monkeypatch)
    for path in (stale, nested):
        _age(path)
    assert os.path.basename(stale).startswith(".admin-password.json.") and stale.endswith(".tmp")
    # look-alikes that are not atomic_write's own temp files stay
    others = [store.path(".notes.tmp"), store.path("report.json.tmp"), store.path(".x.json.ABCDEFGH.tmp")]
    for path in others:
        path.write_text("mine")
        _age(path)
    outside = tmp_path / ".elsewhere.json.abcd1234.tmp"
    outside.write_text("not under state_dir")
    _age(outside)
    link = store.path(".link.json.abcd1234.tmp")
    link.symlink_to(outside)
    _age(link)

    with caplog.at_level("INFO", logger="portald.state"):
        removed = store.remove_stale_temp_files()
    assert sorted(map(str, removed)) == sorted([stale, nested])
    assert not os.path.exists(stale) and not os.path.exists(nested)
    assert os.path.exists(recent)  # may be a write in progress (`portald check` beside a running daemon)
    assert all(p.exists() for p in others) and outside.exists() and link.is_symlink()
    assert store.read_json("keep.json") == {"a": 1}
    assert sum("interrupted write of admin-password.json" in r.getMessage() for r in caplog.records) == 1


def test_the_app_removes_stale_temp_files_when_it_starts(make_config, monkeypatch):
    from portald.app import create_app

    config = make_config()
    store = StateStore(config.state_dir)
    stale = _crashed_write(store.path("admin-password.json"), monkeypatch)
    _age(stale)
    app = create_app(config)
    try:
        assert not os.path.exists(stale)
    finally:
        app.extensions["portald"].shutdown()


def test_a_missing_state_dir_has_nothing_to_remove(tmp_path):
    assert StateStore(tmp_path / "absent").remove_stale_temp_files() == []
