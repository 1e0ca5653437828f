"""The boot counter behind ``bootCount``: Linux keeps no count of boots, so the daemon keeps one.

The kernel draws a fresh random ``boot_id`` (``<procfs_root>/sys/kernel/random/boot_id``) at every boot
and keeps it until the next one. The counter in the plugin's state folder (``boot.json``) goes up only
when that id differs from the one recorded, so daemon restarts within one boot are not counted. It
counts the boots seen since portald was installed (the first one counts as 1), not the machine's
whole life.
"""
from __future__ import annotations

import logging
from pathlib import Path

from portald.state import StateStore

log = logging.getLogger("portald.plugins.host")

STATE_FILE = "boot.json"


def current_boot_id(procfs: Path) -> str:
    try:
        return (procfs / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    except OSError:
        return ""


def record_boot(state: StateStore, procfs: Path) -> int:
    """Count this boot if it is new and return the count."""
    try:
        record = state.read_json(STATE_FILE, {})
        count = int(record.get("bootCount", 0))
    except (ValueError, TypeError, AttributeError) as exc:
        log.warning("boot counter %s is unreadable (%s): counting starts again", state.path(STATE_FILE), exc)
        record, count = {}, 0
    boot_id = current_boot_id(procfs)
    if not boot_id:
        log.warning("kernel boot id is unreadable: this boot is not counted")
        return count
    if record.get("bootId") != boot_id:
        count += 1
        state.write_json(STATE_FILE, {"bootId": boot_id, "bootCount": count})
        log.info("boot %d (boot id %s)", count, boot_id)
    return count
