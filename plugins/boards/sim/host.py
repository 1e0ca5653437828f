"""The sim board's host facts: a stable virtual identity (its own host name, machine id and image
version, not the machine's the daemon runs on), and a virtual board that boots when the daemon starts:
each start is a new boot (a new boot id, so ``bootCount`` goes up by one per ``portald run --sim``),
with its boot time and uptime counted from then. It has no container engine."""
from __future__ import annotations

import time
import uuid

CAPABILITY = "host"

HOSTNAME = "sim-edge-1000"
MACHINE_ID = "5d1f3c2e-0000-4000-8000-0000000000a1"
IMAGE_VERSION = "SIM-OS 1.0.0 build 001"


class SimHostDriver:
    name = "sim.host"

    def __init__(self, clock=time.time):
        self._clock = clock
        self._booted = clock()
        self._boot_id = str(uuid.uuid4())

    def probe(self) -> bool:
        return True

    def hostname(self) -> str:
        return HOSTNAME

    def boot_id(self) -> str:
        return self._boot_id

    def boot_time(self) -> int:
        return int(self._booted)

    def uptime(self) -> int:
        return int(self._clock() - self._booted)

    def machine_id(self) -> str:
        return MACHINE_ID

    def image_version(self) -> str:
        return IMAGE_VERSION

    def docker_version(self) -> str:
        return ""


def create_driver(ctx, settings=None):
    return SimHostDriver()
