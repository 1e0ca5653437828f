"""Durable daemon state under ``state_dir``: atomic file writes, JSON documents and SQLite databases.

A write is never half-done: the bytes go to a temporary file in the same folder, which is fsync'ed and
renamed over the target, and then the folder itself is fsync'ed so the rename survives a power cut.
A crash between the two leaves the temporary file behind; ``remove_stale_temp_files`` (at start-up)
deletes those, and only those: atomic_write's own name pattern, under ``state_dir``, not too recent.
Secrets are created 0600 from the start (never chmod'ed after being readable).
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

log = logging.getLogger("portald.state")
# what atomic_write's mkstemp names its temporary files: ".<target>.<8 of a-z, 0-9, _>.tmp"
TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$")
# a temporary file this old is a crashed write's, never one in progress (another process — `portald
# check` next to a running daemon — may be writing right now)
STALE_TEMP_SECONDS = 60.0


def atomic_write(path: str | os.PathLike, data: bytes, mode: int = 0o644) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(target.parent)


def _is_regular(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StateStore:
    """The daemon's ``state_dir``; created 0700 on first write, since it holds keys and hashes."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, name: str) -> Path:
        return self.root / name

    def ensure(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.root

    def remove_stale_temp_files(self, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
        """Delete temporary files that crashed atomic writes left under the state dir (symbolic links
        are neither followed nor removed); returns what was removed, each one logged."""
        removed: list[Path] = []
        if not self.root.is_dir():
            return removed
        cutoff = time.time() - older_than
        for folder, _dirs, files in os.walk(self.root, followlinks=False):
            for name in files:
                if not TEMP_NAME.match(name):
                    continue
                path = Path(folder) / name
                try:
                    info = path.lstat()
                    if not _is_regular(info.st_mode) or info.st_mtime > cutoff:
                        continue
                    path.unlink()
                except OSError as exc:
                    log.warning("cannot remove the stale temporary file %s: %s", path, exc.strerror or exc)
                    continue
                log.info("removed %s, left by an interrupted write of %s", path, TEMP_NAME.match(name)["target"])
                removed.append(path)
        return removed

    def read_bytes(self, name: str) -> bytes | None:
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            return None

    def write_bytes(self, name: str, data: bytes, secret: bool = False) -> None:
        self.ensure()
        atomic_write(self.path(name), data, 0o600 if secret else 0o644)

    def read_json(self, name: str, default: Any = None) -> Any:
        raw = self.read_bytes(name)
        if raw is None:
            return default
        return json.loads(raw)

    def write_json(self, name: str, value: Any, secret: bool = False) -> None:
        self.write_bytes(name, json.dumps(value, indent=1, sort_keys=True).encode(), secret)

    def delete(self, name: str) -> None:
        try:
            self.path(name).unlink()
        except FileNotFoundError:
            return
        _fsync_dir(self.root)

    def sqlite(self, name: str) -> sqlite3.Connection:
        """A connection in WAL mode with full sync; one per owner, used from one greenlet at a time."""
        import sqlite3  # here, not at the top: ~1 MB that a daemon nobody logs in to never needs

        self.ensure()
        conn = sqlite3.connect(self.path(name), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        os.chmod(self.path(name), 0o600)
        return conn
