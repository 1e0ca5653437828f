"""The ``systemperf`` driver of the generic Linux board: ``<procfs_root>/cpuinfo`` parsed into the spec's
CPU description, per-CPU usage and memory figures (psutil, reading ``<procfs_root>/stat`` and
``meminfo``: the core points ``psutil.PROCFS_PATH`` at the configured root).

``cpu_info()`` reads ``cpuinfo`` and, for what ARM kernels leave out of it, the CPU's
``<sysfs_root>/devices/system/cpu/cpuN/`` topology and cpufreq files. Field by field, x86 / ARM
(``/proc/cpuinfo`` keys; ARM has no vendor or model strings):

* ``vendorId``: ``vendor_id`` / ``CPU implementer`` named as lscpu names it (``0x41`` -> ``"ARM"``);
* ``family``: ``cpu family`` / ``CPU architecture``; ``model``: ``model`` / ``CPU part`` (strings);
* ``stepping``: ``stepping`` / ``CPU revision`` (integers);
* ``modelName``: ``model name``; on ARM the core's name for Arm Ltd parts (``Cortex-A72``), since the
  32-bit kernel's ``model name`` is a generic ``ARMv7 Processor rev 3 (v7l)`` and arm64 has none;
* ``physicalId`` / ``coreId``: ``physical id`` / ``core id``, else sysfs topology, else ``""``;
* ``cores``: ``cpu cores`` (cores per package); where absent (ARM, which prints one block per core)
  the number of processor blocks;
* ``mhz``: ``cpu MHz`` (the current clock); ARM prints none, so cpufreq's ``cpuinfo_max_freq``; else 0;
* ``cacheSize``: ``cache size`` in KB (0 where absent); ``flags``: ``flags`` / ``Features``;
  ``microcode``: ``microcode`` (``""`` on ARM).

Memory is psutil.virtual_memory() renamed to the spec's camelCase.

``cpu_times()`` parses ``<procfs_root>/stat`` itself (its ``cpuN`` lines: ticks of ``USER_HZ``,
``os.sysconf("SC_CLK_TCK")``, in the kernel's column order user, nice, system, idle, iowait, irq,
softirq, steal, guest, guest_nice). Guest time is already inside user and nice, so it is not a mode of
its own, as in node_exporter's ``node_cpu_seconds_total``; columns an old kernel does not print are
left out.

Blocking: to print ``cpu MHz`` an x86 kernel asks every CPU for its clock in turn, which is slow on big
machines, so the core runs these calls in its threadpool.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

import psutil

CAPABILITY = "systemperf"

# lscpu's names for the implementers found on ARM boards (util-linux sys-utils/lscpu-arm.c)
ARM_IMPLEMENTERS = {
    0x41: "ARM", 0x42: "Broadcom", 0x43: "Cavium", 0x46: "FUJITSU", 0x48: "HiSilicon", 0x4E: "NVIDIA",
    0x50: "APM", 0x51: "Qualcomm", 0x53: "Samsung", 0x56: "Marvell", 0x61: "Apple", 0x69: "Intel",
    0x70: "Phytium", 0xC0: "Ampere",
}
# Arm Ltd (implementer 0x41) cores found on edge devices
ARM_PARTS = {
    0xB76: "ARM1176", 0xC07: "Cortex-A7", 0xC09: "Cortex-A9", 0xC0F: "Cortex-A15", 0xD03: "Cortex-A53",
    0xD04: "Cortex-A35", 0xD05: "Cortex-A55", 0xD07: "Cortex-A57", 0xD08: "Cortex-A72", 0xD09: "Cortex-A73",
    0xD0A: "Cortex-A75", 0xD0B: "Cortex-A76", 0xD0C: "Neoverse-N1", 0xD0D: "Cortex-A77", 0xD40: "Neoverse-V1",
    0xD41: "Cortex-A78", 0xD46: "Cortex-A510", 0xD47: "Cortex-A710", 0xD49: "Neoverse-N2",
}
# /proc/stat's cpuN columns in the kernel's order (fs/proc/stat.c); guest and guest_nice, already
# counted in user and nice, are not modes of node_cpu_seconds_total
STAT_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
MEMORY_FIELDS = {"total": "total", "available": "available", "used": "used", "usedPercent": "percent",
                 "free": "free", "active": "active", "inactive": "inactive", "buffers": "buffers",
                 "cached": "cached", "shared": "shared", "slab": "slab"}


def parse_cpuinfo(text: str) -> list[dict[str, str]]:
    """One dict per ``processor`` block, keys as the kernel prints them (ARM's trailing board block,
    which has no ``processor`` line, is left out)."""
    blocks = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, colon, value = line.partition(":")
            if colon:
                fields.setdefault(key.strip(), value.strip())
        if "processor" in fields:
            blocks.append(fields)
    return blocks


def _int(text: str | None, base: int = 10) -> int:
    try:
        return int((text or "").split()[0], base)
    except (ValueError, IndexError):
        return 0


def _float(text: str | None) -> float:
    try:
        return float(text or 0)
    except ValueError:
        return 0.0


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except (OSError, ValueError):
        return ""


def cpu_info(blocks: list[dict[str, str]], sysfs_cpus: Path) -> dict:
    """The spec's ``info`` object for the first logical CPU; ``sysfs_cpus`` is
    ``<sysfs_root>/devices/system/cpu``."""
    first = blocks[0]
    number = _int(first.get("processor"))
    cpu_dir = sysfs_cpus / f"cpu{number}"
    arm = "CPU implementer" in first
    info = {
        "cpu": number,
        "vendorId": first.get("vendor_id", ""),
        "family": first.get("cpu family", ""),
        "model": first.get("model", ""),
        "stepping": _int(first.get("stepping")),
        "physicalId": first.get("physical id") or _read(cpu_dir / "topology" / "physical_package_id"),
        "coreId": first.get("core id") or _read(cpu_dir / "topology" / "core_id"),
        "cores": _int(first.get("cpu cores")) or len(blocks),
        "modelName": first.get("model name", ""),
        "mhz": _float(first.get("cpu MHz")),
        "cacheSize": _int(first.get("cache size")),
        "flags": first.get("flags", "").split(),
        "microcode": first.get("microcode", ""),
    }
    if arm:
        implementer, part = _int(first["CPU implementer"], 16), _int(first.get("CPU part"), 16)
        info.update(
            vendorId=ARM_IMPLEMENTERS.get(implementer, first["CPU implementer"]),
            family=first.get("CPU architecture", ""),
            model=first.get("CPU part", ""),
            stepping=_int(first.get("CPU revision")),
            flags=first.get("Features", "").split(),
        )
        if implementer == 0x41 and part in ARM_PARTS:
            info["modelName"] = ARM_PARTS[part]
    if not info["mhz"]:
        info["mhz"] = _int(_read(cpu_dir / "cpufreq" / "cpuinfo_max_freq")) / 1000
    return info


def parse_stat(text: str, ticks_per_second: float) -> list[dict]:
    """The ``cpu_times()`` of a ``/proc/stat`` text: one dict per ``cpuN`` line (the ``cpu`` total line
    and every other line left out), in seconds."""
    found = []
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or not name[3:].isdigit():
            continue
        try:
            ticks = [int(column) for column in rest.split()]
        except ValueError:
            continue  # a line that is not counters: skipped rather than guessed at
        if len(ticks) < 4:  # user nice system idle are there since Linux 1.x
            continue
        times = {"cpu": int(name[3:])}
        times.update({mode: count / ticks_per_second for mode, count in zip(STAT_MODES, ticks)})
        found.append(times)
    return found


def busy_percent(before, after) -> list[float]:
    """Per-CPU busy time between two ``psutil.cpu_times(percpu=True)`` readings, as psutil computes it:
    guest time is already inside user/nice so it is not counted twice, and idle + iowait is not busy."""
    usage = []
    for t1, t2 in zip(before, after):
        delta = {field: max(0.0, getattr(t2, field) - getattr(t1, field)) for field in t2._fields}
        total = sum(delta.values()) - delta.get("guest", 0.0) - delta.get("guest_nice", 0.0)
        idle = delta["idle"] + delta.get("iowait", 0.0)
        usage.append(round(100 * (total - idle) / total, 1) if total > 0 else 0.0)
    return usage


class LinuxSystemperfDriver:
    """Usage is measured between one ``usage()`` call and the previous one (never by sleeping). The
    driver keeps its own previous reading rather than using ``psutil.cpu_percent(None)``, whose
    baseline is kept per calling thread (calls run in the threadpool) and shared with anything else in
    the process that calls it."""

    name = "linux.systemperf"
    blocking = True

    def __init__(self, procfs_root: str | Path, sysfs_root: str | Path):
        self.cpuinfo = Path(procfs_root, "cpuinfo")
        self.stat = Path(procfs_root, "stat")
        self.sysfs_cpus = Path(sysfs_root, "devices", "system", "cpu")
        self._previous = None

    def probe(self) -> bool:
        try:
            self.cpu_info()
        except OSError as exc:
            self.absent_reason = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror or str(exc)
            return False
        return True

    def cpu_info(self) -> dict:
        blocks = parse_cpuinfo(self.cpuinfo.read_text(errors="replace"))
        if not blocks:
            raise OSError(errno.ENODATA, f"{self.cpuinfo} lists no processor")
        return cpu_info(blocks, self.sysfs_cpus)

    def usage(self) -> list[float]:
        now = psutil.cpu_times(percpu=True)
        before = self._previous
        if before is None or len(before) != len(now):  # first sample, or a CPU was hot-plugged
            before = [t._make([0.0] * len(t)) for t in now]
        self._previous = now
        return busy_percent(before, now)

    def memory(self) -> dict:
        vm = psutil.virtual_memory()
        return {name: getattr(vm, field) for name, field in MEMORY_FIELDS.items()}

    def cpu_times(self) -> list[dict]:
        times = parse_stat(self.stat.read_text(errors="replace"), os.sysconf("SC_CLK_TCK"))
        if not times:
            raise OSError(errno.ENODATA, f"{self.stat} has no cpuN line")
        return times


def create_driver(ctx, settings=None):
    return LinuxSystemperfDriver(ctx.paths.procfs_root, ctx.paths.sysfs_root)
