"""The ``edgebus`` driver interface: where the board's MQTT broker (Mosquitto) is and how it may run.

The plugin owns everything about the broker it runs (its generated config, password file, the process
and its supervision); the driver only says what the machine has: the executable, the account the
broker drops to, and a folder that account can read and write. All three are cheap facts, read once
(no I/O beyond a ``stat``); nothing here blocks or starts a process.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

from portald.drivers import Driver


class EdgeBusDriver(Driver, Protocol):
    """The machine's Mosquitto. ``probe()`` is False when the broker is not installed (the API then
    answers 404, the spec's "no EdgeBus service support"); ``absent_reason`` says why."""

    def executable(self) -> str:
        """Absolute path of the ``mosquitto`` binary (Mosquitto 2.x)."""
        ...

    def run_user(self) -> str:
        """The account the broker runs as (Mosquitto started by root drops to it before it reads its
        password file and writes its persistence). The daemon's own account means "no drop"."""
        ...

    def broker_dir(self) -> Path:
        """A folder for the broker's config, password-file hash and persistence, reachable by
        ``run_user()`` (every parent searchable by it); the plugin creates it and gives it to that
        account, mode 0700."""
        ...
