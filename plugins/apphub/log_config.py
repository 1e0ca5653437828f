"""The AppHub log settings file: ``{"logFile": <bool>, "logLevel": "error" | "info"}`` as JSON.

A PUT changes the keys it names and keeps the others (``{"logFile": false, "logLevel": "error"}`` when
the file does not exist yet, or is not such an object: then it is replaced, with a warning). Written
atomically (temporary file, fsync, rename, fsync of the folder), mode 0644, so AppHub never reads a
half-written file.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from portald.state import atomic_write

DEFAULTS = {"logFile": False, "logLevel": "error"}


class LogConfig:
    def __init__(self, path: Path, log: logging.Logger):
        self.path, self.log = Path(path), log

    def read(self) -> dict:
        try:
            saved = json.loads(self.path.read_text())
        except FileNotFoundError:
            return dict(DEFAULTS)
        except (OSError, ValueError) as exc:
            self.log.warning("%s is unreadable (%s); it will be replaced", self.path, exc)
            return dict(DEFAULTS)
        if not (isinstance(saved, dict) and isinstance(saved.get("logFile"), bool)
                and saved.get("logLevel") in ("error", "info")):
            self.log.warning("%s is not an AppHub log configuration; it will be replaced", self.path)
            return dict(DEFAULTS)
        return {"logFile": saved["logFile"], "logLevel": saved["logLevel"]}

    def update(self, changes: dict) -> dict:
        merged = {**self.read(), **changes}
        atomic_write(self.path, (json.dumps(merged, indent=1, sort_keys=True) + "\n").encode(), 0o644)
        return merged
