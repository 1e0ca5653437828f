"""Disks and their mounted filesystems as Prometheus series for ``GET /metrics``, from the plugin's
sampler (never a ``statvfs`` inside a scrape).

Filesystems, as node_exporter's filesystem collector names them: ``node_filesystem_size_bytes``,
``node_filesystem_avail_bytes`` (what an ordinary program can still write) and
``node_filesystem_readonly`` (no ``node_filesystem_free_bytes``: the driver interface does not tell
the blocks reserved for root apart), labelled ``device`` (the disk the partition is on, e.g. ``sda`` — the
interface names disks, not partitions) and ``mountpoint``. Disks: ``node_disk_info{device,model,
serial,revision}`` (1) and ``portald_disk_size_bytes{device}``. I/O counters are not in the driver
interface, so there is no ``node_disk_read_bytes_total``.
"""
from __future__ import annotations


def families(disks):
    """``disks`` is the plugin's ``routes.Disks`` (None: no driver, no series)."""
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
    return [size, avail, readonly, info, disk_size]
