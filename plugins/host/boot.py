"""The boot counter behind ``bootCount``: Linux keeps no count of boots, so the daemon keeps one.

The host driver gives the boot's id, which the OS draws anew at every boot and keeps until the next one
(Linux: ``/proc/sys/kernel/random/boot_id``). The counter in the plugin's state folder (``boot.json``)
goes up only when that id differs from the one recorded, so daemon restarts within one boot are not
counted. It counts the boots seen since portald was installed (the first one counts as 1), not the
machine's whole life.
"""
from __future__ import annotations

import logging

from portald.state import StateStore

log = logging.getLogger("portald.plugins.host")

STATE_FILE = "boot.json"


def record_boot(state: StateStore, boot_id: str) -> int:
    """Count this boot if it is new and return the count."""
    try:
        record = state.read_json(STATE_FILE, {})
        count = int(record.get("bootCount", 0))
    except (ValueError, TypeError, AttributeError) as exc:
        log.warning("boot counter %s is unreadable (%s): counting starts again", state.path(STATE_FILE), exc)
        record, count = {}, 0
    if not boot_id:
        log.warning("the boot id is unknown: this boot is not counted")
        return count
    if record.get("bootId") != boot_id:
        count += 1
        state.write_json(STATE_FILE, {"bootId": boot_id, "bootCount": count})
        log.info("boot %d (boot id %s)", count, boot_id)
    return count
