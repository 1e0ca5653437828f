"""CPU and memory figures as Prometheus series for ``GET /metrics``, from the plugin's sampler.

Memory: node_exporter's meminfo names (``node_memory_MemTotal_bytes``, ``_MemAvailable_bytes``,
``_MemFree_bytes``, ``_Buffers_bytes``, ``_Cached_bytes``, ``_Active_bytes``, ``_Inactive_bytes``,
``_Shmem_bytes``, ``_Slab_bytes``). CPU: ``node_cpu_info`` (the first CPU's description, value 1) and
``portald_cpu_busy_ratio{cpu}`` — the driver interface gives each CPU's busy share since the
previous sample (0..1 here), not node_exporter's cumulative ``node_cpu_seconds_total``; rate those
in Prometheus from node_exporter where it runs.
"""
from __future__ import annotations

MEMORY = {  # Memory key -> the /proc/meminfo field node_exporter names its series after
    "total": "MemTotal", "available": "MemAvailable", "free": "MemFree", "buffers": "Buffers",
    "cached": "Cached", "active": "Active", "inactive": "Inactive", "shared": "Shmem", "slab": "Slab",
}


def families(sampler):
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
    return found
