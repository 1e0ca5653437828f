"""The host's identity, boot and OS facts behind ``GET /platform/api/host/info``: plain data, no Flask.

Everything is read from files under the configured roots (``<procfs_root>/stat``, ``uptime``,
``sys/kernel/hostname``), the configured machine-id and image-version files, and the ``board`` driver's
DMI fields. A field that cannot be read is ``""`` (strings) or ``0`` (numbers), never missing, so a
client always finds every key of the spec's example with the example's type.
"""
from __future__ import annotations

import logging
import os
import platform
import shutil
import uuid
from pathlib import Path

from portald.runner import CommandFailed

log = logging.getLogger("portald.plugins.host")


def first_line(path: str | os.PathLike) -> str:
    """The first line of a small text file, stripped; ``""`` when it is missing or unreadable."""
    if not path:
        return ""
    try:
        with open(path, errors="replace") as handle:
            return handle.readline().strip()
    except OSError:
        return ""


def machine_id(path: str | os.PathLike) -> str:
    """``/etc/machine-id`` (32 hex digits) written as a UUID, as the spec's ``hostid`` example is."""
    try:
        return str(uuid.UUID(first_line(path)))
    except ValueError:
        return ""


def boot_time(procfs: Path) -> int:
    """Epoch seconds of the boot, the kernel's ``btime`` line of ``/proc/stat``."""
    try:
        with open(procfs / "stat") as handle:
            for line in handle:
                key, _, value = line.partition(" ")
                if key == "btime":
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0


def uptime(procfs: Path) -> int:
    """Whole seconds since boot (``/proc/uptime``, which counts time spent suspended too)."""
    try:
        return int(float(first_line(procfs / "uptime").split()[0]))
    except (IndexError, ValueError):
        return 0


def os_pretty_name() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except OSError:
        return ""


def docker_version(runner, command: str, timeout: float) -> str:
    """``docker --version``'s line (``Docker version 28.2.2, build e6534b4``), ``""`` without docker.

    Only the client is asked: ``--version`` does not need the docker daemon to be running."""
    if not command or shutil.which(command) is None:
        log.debug("docker command %r not found: dockerVersion is empty", command)
        return ""
    try:
        result = runner.run([command, "--version"], timeout=timeout)
    except CommandFailed as exc:  # could not start or timed out; the runner has logged it
        log.debug("docker --version failed: %s", exc)
        return ""
    return result.stdout.strip().splitlines()[0] if result.ok and result.stdout.strip() else ""


def bios_fields(dmi: dict[str, str]) -> dict[str, str]:
    """The spec's BIOS fields from DMI fields named as in sysfs. ``product_serial`` is the system's
    serial; boards whose vendor left it out still often carry ``board_serial``."""
    return {
        "biosSerialNumber": dmi.get("product_serial") or dmi.get("board_serial", ""),
        "biosUUID": dmi.get("product_uuid", ""),
        "biosVersion": dmi.get("bios_version", ""),
        "releaseDate": dmi.get("bios_date", ""),
        "deviceName": dmi.get("product_name", ""),
        "ecVersion": dmi.get("ec_version", ""),
    }


def collect(procfs: Path, dmi: dict[str, str], *, boot_count: int, docker: str, machine_id_file: str,
            image_version_file: str) -> dict:
    info = {
        **bios_fields(dmi),
        "bootCount": boot_count,
        "bootTime": boot_time(procfs),
        "dockerVersion": docker,
        "hostid": machine_id(machine_id_file),
        "hostname": first_line(procfs / "sys" / "kernel" / "hostname"),
        "imageVersion": first_line(image_version_file),
        "kernelArch": platform.machine(),
        "os": platform.system().lower(),
        "platform": os_pretty_name(),
        "upTime": uptime(procfs),
    }
    return dict(sorted(info.items()))
