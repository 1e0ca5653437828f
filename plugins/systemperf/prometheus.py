"""CPU and memory figures as Prometheus series for ``GET /metrics``.

From the plugin's sampler — memory: node_exporter's meminfo names (``node_memory_MemTotal_bytes``,
``_MemAvailable_bytes``, ``_MemFree_bytes``, ``_Buffers_bytes``, ``_Cached_bytes``, ``_Active_bytes``,
``_Inactive_bytes``, ``_Shmem_bytes``, ``_Slab_bytes``); CPU: ``node_cpu_info`` (the first CPU's
description, value 1), ``node_cpu_frequency_hertz{cpu}`` and ``portald_cpu_busy_ratio{cpu}`` (each CPU's
busy share since the previous sample, 0..1).

At the scrape itself, from the driver's optional ``cpu_times()``: ``node_cpu_seconds_total{cpu,mode}``,
node_exporter's counter (modes user, nice, system, idle, iowait, irq, softirq, steal; those the OS does
not count are left out). It is read per scrape rather than sampled because it is one small read of
kernel counters (``/proc/stat``) that a scrape wants fresh for ``rate()``; a ``blocking`` driver's call
goes through the threadpool like every other call of it. A driver without the method, or one that
raises ``OSError`` (no ``stat`` in a fixture tree, a driver still stuck on an earlier call), gives no
such series; the other series are served all the same.
"""
from __future__ import annotations

import logging

log = logging.getLogger("portald.plugins.systemperf")

MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
MEMORY = {  # Memory key -> the /proc/meminfo field node_exporter names its series after
    "total": "MemTotal", "available": "MemAvailable", "free": "MemFree", "buffers": "Buffers",
    "cached": "Cached", "active": "Active", "inactive": "Inactive", "shared": "Shmem", "slab": "Slab",
}


def families(sampler, driver=None):
    """The families of the latest sample and of ``driver.cpu_times()`` (``sampler`` None: no driver, no
    series)."""
    if sampler is None:
        return None
    from prometheus_client.core import GaugeMetricFamily

    sample = sampler.latest()
    found = []
    cpu = sample.get("cpu") or {}
    info = cpu.get("info")
    if info:
        family = GaugeMetricFamily("node_cpu_info", "CPU information (the first logical CPU).",
                                   labels=["package", "core", "cpu", "vendor", "family", "model", "model_name",
                                           "microcode", "stepping"])
        family.add_metric([info["physicalId"], info["coreId"], str(info["cpu"]), info["vendorId"], info["family"],
                           info["model"], info["modelName"], info["microcode"], str(info["stepping"])], 1)
        found.append(family)
        if info.get("mhz"):
            found.append(GaugeMetricFamily("node_cpu_frequency_hertz", "The first CPU's clock, in hertz.",
                                           labels=["cpu"]))
            found[-1].add_metric([str(info["cpu"])], float(info["mhz"]) * 1e6)
    usage = cpu.get("usage") or []
    if usage:
        family = GaugeMetricFamily("portald_cpu_busy_ratio",
                                   "Share of time each logical CPU was busy since the previous sample (0..1).",
                                   labels=["cpu"])
        for number, percent in enumerate(usage):
            family.add_metric([str(number)], float(percent) / 100)
        found.append(family)
    memory = sample.get("memory")
    if memory:
        for key, field in MEMORY.items():
            if key in memory:
                found.append(GaugeMetricFamily(f"node_memory_{field}_bytes",
                                               f"Memory information field {field}_bytes.", value=float(memory[key])))
    seconds = cpu_seconds(driver)
    if seconds is not None:
        found.append(seconds)
    return found


def cpu_seconds(driver):
    """``node_cpu_seconds_total`` from ``driver.cpu_times()``, or None when the driver has no such
    method or the counters cannot be read now."""
    read = getattr(driver, "cpu_times", None)
    if read is None:
        return None
    try:
        times = read()
    except OSError as exc:
        log.debug("no node_cpu_seconds_total in this scrape: %s", exc)
        return None
    from prometheus_client.core import CounterMetricFamily

    family = CounterMetricFamily("node_cpu_seconds", "Seconds the CPUs spent in each mode.", labels=["cpu", "mode"])
    for cpu in times:
        for mode in MODES:
            if mode in cpu:
                family.add_metric([str(cpu["cpu"]), mode], float(cpu[mode]))
    return family
