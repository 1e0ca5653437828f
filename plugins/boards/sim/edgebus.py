"""The sim board's ``edgebus`` driver: the same real Mosquitto as the Linux board, when installed.

No stand-in: the point of the EdgeBus is a broker that local applications connect to, and a fake that
answers the status endpoint while accepting no MQTT connection would mislead whoever develops against
``--sim``. Without Mosquitto the sim board has no EdgeBus, as a device without it (404).

Differences from the Linux driver, because the sim board is a development board: the broker runs as the
daemon's own account (no privilege drop) and keeps its folder in the sim board's state dir.
"""
from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

CAPABILITY = "edgebus"
SEARCH = "/usr/sbin:/usr/local/sbin:/usr/bin:/usr/local/bin"


class SimEdgeBusDriver:
    name = "sim.edgebus"

    def __init__(self, folder: Path, executable: str | None):
        self._dir, self._executable = Path(folder), executable
        self.absent_reason = "" if executable else "Mosquitto is not installed (no mosquitto in " + SEARCH + ")"

    def probe(self) -> bool:
        return self._executable is not None

    def executable(self) -> str:
        return self._executable or ""

    def run_user(self) -> str:
        return pwd.getpwuid(os.geteuid()).pw_name

    def broker_dir(self) -> Path:
        return self._dir


def create_driver(ctx, settings=None):
    return SimEdgeBusDriver(ctx.state.path("edgebus"), shutil.which("mosquitto", path=SEARCH))
