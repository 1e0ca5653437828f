"""The ``systemperf`` driver of the Windows board: what the CPU is, how busy each logical CPU is, and
memory, from psutil and two values Windows keeps for every CPU.

The CPU's description: Windows has no ``/proc/cpuinfo``. ``PROCESSOR_IDENTIFIER`` (a system
environment variable: ``Intel64 Family 6 Model 158 Stepping 10, GenuineIntel``; on ARM64
``ARMv8 (64-bit) Family 8 Model D0B Revision   0, Qualcomm Technologies Inc``) gives ``vendorId``,
``family``, ``model`` and ``stepping``; the registry's ``ProcessorNameString``
(``HKLM\\HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0``) gives ``modelName``; psutil gives
``mhz`` (``cpu_freq().current``) and ``cores`` (physical cores: assumed one package). Not available
without WMI or the CPUID instruction, so left at the Protocol's "unknown": ``cacheSize`` 0,
``flags`` ``[]``, ``microcode`` / ``physicalId`` / ``coreId`` ``""``.

Usage: psutil's per-CPU times on Windows are ``user, system, idle, interrupt, dpc``, where
``system`` already holds the interrupt and DPC time (psutil takes kernel time minus idle time), so
busy = user + system out of user + system + idle.

CPU times (``cpu_times()``, node_exporter's modes): ``user`` and ``idle`` as they are, ``irq`` from
``interrupt`` and ``softirq`` from ``dpc`` (deferred procedure calls, Windows' deferred interrupt
work), and ``system`` as psutil's ``system`` less those two, so that no second is counted in two modes.
Windows counts no ``nice``, ``iowait`` or ``steal``: those modes are left out.

Memory: Windows gives total, available, used and free; the Linux-only figures (active, inactive,
buffers, cached, shared, slab) are 0.
"""
from __future__ import annotations

import os
import re
import sys

import psutil

CAPABILITY = "systemperf"

IDENTIFIER = re.compile(r"Family\s+(?P<family>\S+)\s+Model\s+(?P<model>\S+)\s+(?:Stepping|Revision)\s+"
                        r"(?P<stepping>\S+?),\s*(?P<vendor>.+)")
CPU_KEY = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
MEMORY_FIELDS = ("total", "available", "used", "usedPercent", "free", "active", "inactive", "buffers",
                 "cached", "shared", "slab")


def _int(text: str, base: int = 10) -> int:
    try:
        return int(text, base)
    except ValueError:
        return 0


def cpu_info(identifier: str, model_name: str, mhz: float, cores: int) -> dict:
    """The spec's ``info`` for CPU 0 from ``PROCESSOR_IDENTIFIER``, ``ProcessorNameString``, the clock
    (MHz) and the number of physical cores. ARM64 Windows prints the model in hex (``D0B``)."""
    found = IDENTIFIER.search(identifier or "")
    fields = found.groupdict() if found else {"family": "", "model": "", "stepping": "", "vendor": ""}
    return {
        "cpu": 0,
        "vendorId": fields["vendor"].strip(),
        "family": fields["family"],
        "model": fields["model"],
        "stepping": _int(fields["stepping"]),
        "physicalId": "",
        "coreId": "",
        "cores": cores,
        "modelName": (model_name or "").strip(),
        "mhz": float(mhz or 0),
        "cacheSize": 0,
        "flags": [],
        "microcode": "",
    }


def busy_percent(before, after) -> list[float]:
    """Per-CPU busy time between two ``psutil.cpu_times(percpu=True)`` readings on Windows."""
    usage = []
    for t1, t2 in zip(before, after):
        busy = max(0.0, (t2.user - t1.user) + (t2.system - t1.system))
        total = busy + max(0.0, t2.idle - t1.idle)
        usage.append(round(100 * busy / total, 1) if total > 0 else 0.0)
    return usage


def cpu_times(per_cpu) -> list[dict]:
    """``cpu_times()`` from ``psutil.cpu_times(percpu=True)`` on Windows (see the module docstring)."""
    found = []
    for number, t in enumerate(per_cpu):
        found.append({"cpu": number, "user": t.user, "system": max(0.0, t.system - t.interrupt - t.dpc),
                      "idle": t.idle, "irq": t.interrupt, "softirq": t.dpc})
    return found


def memory(vm) -> dict:
    """The spec's memory figures from ``psutil.virtual_memory()`` (Windows has five of them)."""
    values = {name: getattr(vm, name, 0) for name in MEMORY_FIELDS}
    values["usedPercent"] = float(vm.percent)
    return values


def _registry_name() -> str:
    import winreg  # Windows only: this runs only once probe() has found Windows

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, CPU_KEY) as key:
            return str(winreg.QueryValueEx(key, "ProcessorNameString")[0])
    except OSError:
        return ""


class WindowsSystemperfDriver:
    """Usage is measured between one ``usage()`` call and the previous one (the driver keeps its own
    previous reading: psutil's ``cpu_percent(None)`` keeps one per process, shared with every caller)."""

    name = "windows.systemperf"
    blocking = True  # psutil's C calls, the registry

    def __init__(self):
        self._previous = None

    def probe(self) -> bool:
        return sys.platform == "win32"

    def cpu_info(self) -> dict:
        freq = psutil.cpu_freq()
        return cpu_info(os.environ.get("PROCESSOR_IDENTIFIER", ""), _registry_name(),
                        freq.current if freq else 0.0, psutil.cpu_count(logical=False) or 0)

    def usage(self) -> list[float]:
        now = psutil.cpu_times(percpu=True)
        before = self._previous
        if before is None or len(before) != len(now):  # first sample, or a CPU came or went
            before = [t._make([0.0] * len(t)) for t in now]
        self._previous = now
        return busy_percent(before, now)

    def memory(self) -> dict:
        return memory(psutil.virtual_memory())

    def cpu_times(self) -> list[dict]:
        return cpu_times(psutil.cpu_times(percpu=True))


def create_driver(ctx, settings=None):
    return WindowsSystemperfDriver()
