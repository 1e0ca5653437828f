"""The Protocol of a ``term`` driver: it opens a login shell on a pseudo-terminal for an OS account."""
from __future__ import annotations

from typing import Protocol

from portald.drivers import Driver


class TermSession(Protocol):
    """One shell on one PTY. Every call is cooperative (it waits without blocking the daemon)."""

    pid: int
    """The shell's process id; it leads its own session and process group."""

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes of terminal output, waiting until there is some; ``b""`` once the
        shell and everything on its terminal has gone."""
        ...

    def write(self, data: bytes) -> None:
        """Terminal input (keystrokes, pastes); waits while the terminal's input buffer is full."""
        ...

    def resize(self, columns: int, rows: int) -> None:
        """The terminal's size (TIOCSWINSZ; the foreground job gets SIGWINCH)."""
        ...

    def close(self) -> None:
        """Hang up: SIGHUP to the session, SIGKILL to what is left of it after a grace period; the
        PTY is closed. Safe to call more than once."""
        ...


class TermDriver(Driver, Protocol):
    os: str
    """What ``GET /platform/api/term/ws`` answers as ``"os"``: ``"linux"`` (or ``"windows"``)."""

    def open(self, user: str, columns: int, rows: int) -> TermSession:
        """A login shell of the OS account ``user`` (its uid, groups, home, shell and environment) on a
        new PTY of that size. Raises ``portald.drivers.NotFound`` when there is no such account,
        ``DriverError`` when the shell cannot be started for it (message for the client), ``OSError``
        when the OS refuses (no PTY left)."""
        ...
