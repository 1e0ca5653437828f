"""Disks, their mounted filesystems and the block devices' I/O counters as Prometheus series for
``GET /metrics``.

From the plugin's sampler (never a ``statvfs`` inside a scrape) — filesystems, as node_exporter's
filesystem collector names them: ``node_filesystem_size_bytes``, ``node_filesystem_avail_bytes`` (what
an ordinary program can still write) and ``node_filesystem_readonly`` (no ``node_filesystem_free_bytes``:
the driver interface does not tell the blocks reserved for root apart), labelled ``device`` (the disk
the partition is on, e.g. ``sda`` — the interface names disks, not partitions) and ``mountpoint``.
Disks: ``node_disk_info{device,model,serial,revision}`` (1) and ``portald_disk_size_bytes{device}``.

At the scrape itself, from the driver's optional ``io_counters()``: node_exporter's diskstats counters
``node_disk_reads_completed_total``, ``node_disk_writes_completed_total``, ``node_disk_read_bytes_total``,
``node_disk_written_bytes_total``, ``node_disk_read_time_seconds_total`` and
``node_disk_write_time_seconds_total``, labelled ``device``. One small read of kernel counters
(``/proc/diskstats``), wanted fresh for ``rate()``; a ``blocking`` driver's call goes through the
threadpool like its ``disks()``. A driver without the method, or one that raises ``OSError`` (no
``diskstats``; the driver still stuck in a ``statvfs`` of a dead mount), gives no such series; the
others are served all the same.
"""
from __future__ import annotations

import logging

log = logging.getLogger("portald.plugins.disk")

IO = (  # (series, IoCounters key, help as node_exporter words it)
    ("node_disk_reads_completed", "readsCompleted", "The total number of reads completed successfully."),
    ("node_disk_writes_completed", "writesCompleted", "The total number of writes completed successfully."),
    ("node_disk_read_bytes", "readBytes", "The total number of bytes read successfully."),
    ("node_disk_written_bytes", "writtenBytes", "The total number of bytes written successfully."),
    ("node_disk_read_time_seconds", "readTimeSeconds", "The total number of seconds spent by all reads."),
    ("node_disk_write_time_seconds", "writeTimeSeconds", "The total number of seconds spent by all writes."),
)


def families(disks, driver=None):
    """``disks`` is the plugin's ``routes.Disks`` (None: no driver, no series); ``driver`` the disk
    driver, asked for ``io_counters()``."""
    if disks is None:
        return None
    from prometheus_client.core import GaugeMetricFamily

    where = ["device", "mountpoint"]
    size = GaugeMetricFamily("node_filesystem_size_bytes", "Filesystem size in bytes.", labels=where)
    avail = GaugeMetricFamily("node_filesystem_avail_bytes",
                              "Filesystem space available to non-root users in bytes.", labels=where)
    readonly = GaugeMetricFamily("node_filesystem_readonly", "Filesystem read-only status.", labels=where)
    info = GaugeMetricFamily("node_disk_info", "Info of /sys/block/<block_device>.",
                             labels=["device", "model", "serial", "revision"])
    disk_size = GaugeMetricFamily("portald_disk_size_bytes", "Size of a disk in bytes.", labels=["device"])
    for disk in disks.sampler.latest() or []:
        name = disk["name"]
        info.add_metric([name, disk["model"], disk["serialNumber"], disk["firmwareRevision"]], 1)
        disk_size.add_metric([name], float(disk["sizeBytes"]))
        for part in disk["partitions"]:
            labels = [name, part["mountPoint"]]
            size.add_metric(labels, float(part["sizeBytes"]))
            avail.add_metric(labels, float(part["freeBytes"]))
            readonly.add_metric(labels, 1.0 if part["readOnly"] else 0.0)
    return [size, avail, readonly, info, disk_size, *io_families(driver)]


def io_families(driver) -> list:
    """The ``node_disk_*_total`` counters from ``driver.io_counters()``; none when the driver has no
    such method or the counters cannot be read now."""
    read = getattr(driver, "io_counters", None)
    if read is None:
        return []
    try:
        devices = read()
    except OSError as exc:
        log.debug("no node_disk I/O counters in this scrape: %s", exc)
        return []
    from prometheus_client.core import CounterMetricFamily

    found = []
    for name, key, documentation in IO:
        family = CounterMetricFamily(name, documentation, labels=["device"])
        for device in devices:
            family.add_metric([device["device"]], float(device[key]))
        found.append(family)
    return found
