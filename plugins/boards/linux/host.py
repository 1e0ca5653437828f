"""The ``host`` driver of the generic Linux board: host name, boot and identity facts.

Under ``procfs_root``: ``sys/kernel/hostname``, ``sys/kernel/random/boot_id`` (drawn anew by the kernel
at every boot), ``stat`` (its ``btime`` line: the boot's epoch second) and ``uptime`` (seconds since boot,
suspended time included). Outside the roots, as settings (``[plugins.linux.host]``, defaults in
``host_paths``): the machine-id file, the image-version file, and the docker client asked ``--version``
through the command runner (only the client: ``--version`` needs no running docker daemon).

Every read is a small file from kernel memory or a short command run through gevent's subprocess, so
nothing here blocks the event loop. What cannot be read is ``""`` or ``0``, never an error.
"""
from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path

from pydantic import Field

from portald.runner import CommandFailed
from portald.settings import Settings as _Settings

from . import host_paths
from .sysfs import read_attr_or_none

log = logging.getLogger("portald.boards.linux.host")

CAPABILITY = "host"


class Settings(_Settings):
    """``[plugins.linux.host]``."""

    machine_id_file: str = host_paths.MACHINE_ID_FILE  # source of hostid
    image_version_file: str = ""  # first line is imageVersion; "" (the default): none
    docker_command: str = "docker"  # asked --version for dockerVersion
    timeout_seconds: float = Field(5.0, gt=0, le=60)  # limit for docker --version


def first_line(path: str | Path) -> str:
    """The first line of a small text file, stripped; ``""`` when it is missing or unreadable."""
    if not path:
        return ""
    text = read_attr_or_none(Path(path))  # bounded to a page: these files are one short line
    return text.splitlines()[0].strip() if text else ""


class LinuxHostDriver:
    name = "linux.host"

    def __init__(self, procfs_root: str | Path, runner, settings: Settings):
        self.procfs = Path(procfs_root)
        self.runner, self.settings = runner, settings

    def probe(self) -> bool:
        return True  # every Linux has these facts; one that cannot be read is "" or 0

    def hostname(self) -> str:
        return first_line(self.procfs / "sys" / "kernel" / "hostname")

    def boot_id(self) -> str:
        return first_line(self.procfs / "sys" / "kernel" / "random" / "boot_id")

    def boot_time(self) -> int:
        try:
            with open(self.procfs / "stat", "rb") as handle:
                for line in handle:
                    if line.startswith(b"btime "):
                        return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
        return 0

    def uptime(self) -> int:
        try:
            return int(float(first_line(self.procfs / "uptime").split()[0]))
        except (IndexError, ValueError):
            return 0

    def machine_id(self) -> str:
        """machine-id(5) holds 32 hex digits; the spec's ``hostid`` example writes it as a UUID."""
        try:
            return str(uuid.UUID(hex=first_line(self.settings.machine_id_file)))
        except ValueError:
            return ""

    def image_version(self) -> str:
        return first_line(self.settings.image_version_file)

    def docker_version(self) -> str:
        command = self.settings.docker_command
        if not command or shutil.which(command) is None:
            log.debug("docker command %r not found: dockerVersion is empty", command)
            return ""
        try:
            result = self.runner.run([command, "--version"], timeout=self.settings.timeout_seconds)
        except CommandFailed as exc:  # could not start or timed out; the runner has logged it
            log.debug("docker --version failed: %s", exc)
            return ""
        lines = result.stdout.strip().splitlines()
        return lines[0] if result.ok and lines else ""


def create_driver(ctx, settings: Settings):
    return LinuxHostDriver(ctx.paths.procfs_root, ctx.runner, settings)
