"""How portald logs: to stderr, one line per record, in a journald-friendly form.

Under systemd (``JOURNAL_STREAM`` is set when stderr is connected to the journal) each line starts
with the syslog priority in the ``<N>`` form of sd-daemon(3), so ``journalctl -p warning`` filters by
level, and carries no timestamp (the journal adds its own). Elsewhere (a terminal, a container log)
lines start with an ISO-8601 UTC timestamp and the level name.
"""
from __future__ import annotations

import logging
import os
import sys
import time

# logging levels -> syslog priorities (sd-daemon.h: SD_ERR 3, SD_WARNING 4, SD_INFO 6, SD_DEBUG 7)
_PRIORITY = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))


def syslog_priority(levelno: int) -> int:
    for level, priority in _PRIORITY:
        if levelno >= level:
            return priority
    return 7


class JournalFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        # a traceback's lines each get the prefix too, so the journal keeps them at the record's level
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in text.splitlines())


class TerminalFormatter(logging.Formatter):
    converter = time.gmtime

    def __init__(self):
        super().__init__("%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")


def to_journal(environ=os.environ, stream=None) -> bool:
    """True when stderr *is* the journal's stream: ``JOURNAL_STREAM`` (``<device>:<inode>``) names it.
    A child that inherited the variable but writes elsewhere gets the terminal format."""
    value = environ.get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    try:
        st = os.fstat((stream or sys.stderr).fileno())
        return (st.st_dev, st.st_ino) == (int(device), int(inode))
    except (ValueError, OSError, AttributeError):
        return False


def setup(level: str, environ=os.environ) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JournalFormatter() if to_journal(environ) else TerminalFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
