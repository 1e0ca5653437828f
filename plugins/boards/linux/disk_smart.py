"""S.M.A.R.T. attributes of one disk, read with smartmontools' ``smartctl --json -a``.

This module owns running smartctl (through the daemon's command runner, with a timeout) and mapping its
JSON report onto the API's attribute entries ``{id, name, statusFlags, value, worst, threshold,
rawData}``. It is used by ``disk.py``; it is not a driver of its own (no ``CAPABILITY``).

ATA drives map one to one from ``ata_smart_attributes.table[]``: ``flags.value`` is the 16-bit flags
word, ``thresh`` the threshold, and ``rawData`` the six raw bytes, least significant first, as the drive
stores them (so a temperature attribute shows current/min/max in bytes 0, 2 and 4, as in the spec's
example). smartctl's names (``Power_On_Hours``) are given with spaces (``Power On Hours``), closer to
the spec's human-readable names.

NVMe drives have no attribute table but a health log; it is mapped onto the ATA attribute ids that
mean the same thing, so a client that understands ATA attributes reads NVMe drives too:

====  ==========================  ======================================  ==========================
id    name                        value / worst                           threshold / raw
====  ==========================  ======================================  ==========================
9     Power On Hours              100                                     0 / power_on_hours
12    Power Cycle Count           100                                     0 / power_cycles
174   Unsafe Shutdown Count       100                                     0 / unsafe_shutdowns
187   Media Errors                100                                     0 / media_errors
194   Temperature Celsius         100 - temperature (as the spec example) 0 / temperature
232   Available Spare             available_spare (%)                     available_spare_threshold
233   Media Wearout Indicator     100 - percentage_used (at least 1)      0 / percentage_used
241   Total LBAs Written          100                                     0 / data_units_written*1000
242   Total LBAs Read             100                                     0 / data_units_read*1000
====  ==========================  ======================================  ==========================

NVMe counts data in units of 1000 512-byte blocks, hence the ``*1000`` to get ATA's LBA counts. Spare
and wear-out carry status flags 0x03 (pre-failure, updated online): at or below the threshold the drive
is expected to fail. The others carry 0x02 (updated online). The NVMe ``critical_warning`` bit field
has no attribute equivalent and is left out; its spare and wear-out bits show in ids 232 and 233.

Outcomes of :meth:`SmartCtl.attributes`: a list (possibly ``[]``: the device has no S.M.A.R.T., e.g.
eMMC, virtio, most USB bridges), or ``None`` when it could not be asked now (smartctl missing or timed
out, the device could not be opened, or it is spun down) -- the caller then keeps what it had.
``-n standby`` stops smartctl from spinning up a sleeping hard disk just to be read.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from portald.runner import CommandFailed

log = logging.getLogger(__name__)

RAW_MASK = (1 << 48) - 1
# smartctl's exit status is a bit mask; these two mean "no report at all"
_BAD_COMMAND_LINE, _NOT_OPENED_OR_STANDBY = 0x01, 0x02
_ONLINE, _PREFAIL_ONLINE = 0x02, 0x03


class NoSmart:
    """The S.M.A.R.T. reader of a disk driver built without smartctl: no disk has attributes."""

    def attributes(self, name: str) -> list[dict]:
        return []


class SmartCtl:
    """The Linux disk driver's S.M.A.R.T. reader (``plugins/disk/interface.SmartReader``)."""

    def __init__(self, runner, command: list[str], dev_root: Path, timeout: float):
        self.runner, self.command, self.dev_root, self.timeout = runner, list(command), Path(dev_root), timeout

    def attributes(self, name: str) -> list[dict] | None:
        argv = [*self.command, "--json", "-a", "-n", "standby", str(self.dev_root / name)]
        try:
            result = self.runner.run(argv, timeout=self.timeout)
        except CommandFailed as exc:
            log.info("S.M.A.R.T. of %s not read: %s", name, exc)
            return None
        if result.returncode & _NOT_OPENED_OR_STANDBY:
            log.debug("S.M.A.R.T. of %s: device not opened or in standby (exit %d)", name, result.returncode)
            return None
        try:
            report = json.loads(result.stdout)
        except ValueError:
            log.info("S.M.A.R.T. of %s: smartctl printed no JSON (exit %d)", name, result.returncode)
            return []
        if result.returncode & _BAD_COMMAND_LINE:
            log.debug("S.M.A.R.T. of %s: %s", name, _messages(report))
        return from_report(report)


def from_report(report) -> list[dict]:
    """The attribute entries of one parsed ``smartctl --json`` report (``[]`` when it has none)."""
    if not isinstance(report, dict):
        return []
    ata = report.get("ata_smart_attributes")
    table = ata.get("table") if isinstance(ata, dict) else None
    if isinstance(table, list) and table:
        return [entry for entry in map(_ata, table) if entry is not None]
    health = report.get("nvme_smart_health_information_log")
    if isinstance(health, dict):
        return _nvme(health)
    return []


def _entry(id_: int, name: str, flags: int, value: int, worst: int, threshold: int, raw: int) -> dict:
    return {"id": id_, "name": name, "statusFlags": flags, "value": value, "worst": worst,
            "threshold": threshold, "rawData": list((raw & RAW_MASK).to_bytes(6, "little"))}


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ata(row) -> dict | None:
    if not isinstance(row, dict):
        return None
    flags = row.get("flags") if isinstance(row.get("flags"), dict) else {}
    raw = row.get("raw") if isinstance(row.get("raw"), dict) else {}
    numbers = [_int(row.get("id")), _int(flags.get("value")), _int(row.get("value")), _int(row.get("worst")),
               _int(row.get("thresh")), _int(raw.get("value"))]
    if any(n is None for n in numbers):
        return None
    id_, flag_word, value, worst, threshold, raw_value = numbers
    name = str(row.get("name") or "Unknown Attribute").replace("_", " ")
    return _entry(id_, name, flag_word, value, worst, threshold, raw_value)


def _nvme(log_: dict) -> list[dict]:
    out = []

    def add(id_, name, key, flags=_ONLINE, value=lambda n: 100, threshold=lambda: 0, raw=lambda n: n):
        number = _int(log_.get(key))
        if number is not None:
            shown = value(number)
            out.append(_entry(id_, name, flags, shown, shown, threshold(), raw(number)))

    add(9, "Power On Hours", "power_on_hours")
    add(12, "Power Cycle Count", "power_cycles")
    add(174, "Unsafe Shutdown Count", "unsafe_shutdowns")
    add(187, "Media Errors", "media_errors")
    add(194, "Temperature Celsius", "temperature", value=lambda t: min(100, max(1, 100 - t)))
    add(232, "Available Spare", "available_spare", _PREFAIL_ONLINE, value=lambda n: n,
        threshold=lambda: _int(log_.get("available_spare_threshold")) or 0)
    add(233, "Media Wearout Indicator", "percentage_used", _PREFAIL_ONLINE, value=lambda n: max(1, 100 - n))
    add(241, "Total LBAs Written", "data_units_written", raw=lambda n: n * 1000)
    add(242, "Total LBAs Read", "data_units_read", raw=lambda n: n * 1000)
    return out


def _messages(report) -> str:
    messages = (report.get("smartctl") or {}).get("messages") if isinstance(report, dict) else None
    if not isinstance(messages, list):
        return "no message"
    return "; ".join(str(m.get("string", "")) for m in messages if isinstance(m, dict)) or "no message"
