"""The generic Linux board's ``edgebus`` driver: Debian's Mosquitto (``apt-get install mosquitto``).

It only locates the broker; the ``edgebus`` plugin generates its config and runs it. The broker runs
as the ``mosquitto`` account the Debian package creates (Mosquitto started by root drops to it before
reading its password file and while writing persistence), so its folder cannot be inside portald's
state dir (0700 root): it is ``broker_dir`` (default ``/var/lib/portald-edgebus``, created 0700 and
owned by that account). The daemon's copy of the broker password stays in the state dir.

Absent (``probe()`` False, the API's 404) when the executable is missing or the account does not exist.
"""
from __future__ import annotations

import os
import pwd
from pathlib import Path

from portald.settings import Settings as _Settings

from . import host_paths

CAPABILITY = "edgebus"


class Settings(_Settings):
    executable: str = host_paths.MOSQUITTO
    user: str = "mosquitto"
    broker_dir: str = host_paths.EDGEBUS_DIR


class LinuxEdgeBusDriver:
    name = "linux.edgebus"

    def __init__(self, executable: str, user: str, broker_dir: str):
        self._executable, self._user, self._dir = executable, user, Path(broker_dir)
        self.absent_reason = ""

    def probe(self) -> bool:
        if not os.access(self._executable, os.X_OK):
            self.absent_reason = f"Mosquitto is not installed ({self._executable} is missing)"
            return False
        try:
            pwd.getpwnam(self._user)
        except KeyError:
            self.absent_reason = f"the broker's account {self._user!r} does not exist"
            return False
        return True

    def executable(self) -> str:
        return self._executable

    def run_user(self) -> str:
        return self._user

    def broker_dir(self) -> Path:
        return self._dir


def create_driver(ctx, settings: Settings | None = None):
    settings = settings or Settings()
    return LinuxEdgeBusDriver(settings.executable, settings.user, settings.broker_dir)
