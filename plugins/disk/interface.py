"""The ``disk`` driver interface: the physical disks, their mounted partitions, S.M.A.R.T., and the
block devices' I/O counters."""
from __future__ import annotations

from typing import Literal, Protocol, TypedDict

from portald.drivers import Driver


class Partition(TypedDict):
    mountPoint: str  # where the filesystem is mounted ("/", "/home")
    sizeBytes: int  # the filesystem's size
    freeBytes: int  # what an ordinary program can still write (df's "Avail")
    usedBytes: int  # sizeBytes - freeBytes, so reserved blocks count as used
    usedPercent: float  # usedBytes / sizeBytes * 100 (0.0 for an empty filesystem)
    readOnly: bool


class Disk(TypedDict):
    """One disk as the spec shows it, without ``smartAttributes`` (the plugin adds those)."""

    name: str  # the OS's device name ("sda", "nvme0n1"): stable key of the S.M.A.R.T. cache
    sizeBytes: int
    physicalBlockSizeBytes: int
    removable: bool
    vendor: str  # "" when the disk has none
    model: str
    serialNumber: str  # with ``name``, tells a swapped disk from its predecessor
    firmwareRevision: str
    mediaType: Literal["Fixed hard disk media", "External hard disk media", "Removable media"]
    partitions: list[Partition]  # mounted filesystems on the disk, each once


class SmartAttribute(TypedDict):
    id: int  # the ATA attribute id (NVMe health figures are mapped onto the ATA ids that mean the same)
    name: str
    statusFlags: int  # the 16-bit ATA flags word
    value: int
    worst: int
    threshold: int
    rawData: list[int]  # the six raw bytes, least significant first


class IoCounters(TypedDict):
    """What one block device has done since boot (counters: they only grow, until a reboot or until
    the device is removed and comes back)."""

    device: str  # the OS's name for it ("sda", "nvme0n1", "mmcblk0"; Windows: "PhysicalDrive0")
    readsCompleted: int
    writesCompleted: int
    readBytes: int
    writtenBytes: int
    readTimeSeconds: float  # the time all reads took, summed (overlapping reads each count)
    writeTimeSeconds: float


class SmartReader(Protocol):
    """Reads one disk's S.M.A.R.T. attributes. Slow (smartctl: 50 ms to seconds) and called only by the
    plugin's S.M.A.R.T. cache, in its background greenlet, every ``smart_interval_seconds``, never
    inside a request.

    It is called on the event loop, not in the threadpool, so it may only wait cooperatively: run
    commands through ``ctx.runner`` (gevent's subprocess, which cannot be used from a pool thread),
    bounded by a timeout. That is why it is an object of its own (``DiskDriver.smart``) rather than a
    method of a driver that sets ``blocking = True``: the core runs every method of such a driver in
    the threadpool, one call at a time, where a slow smartctl would also hold up ``disks()``.
    """

    def attributes(self, name: str) -> list[SmartAttribute] | None:
        """The attributes of disk ``name`` (a ``Disk.name``): ``[]`` when it has none (eMMC, virtio, most
        USB bridges), None when it cannot be asked now (spun down, timed out, smartctl missing) — the
        cache then keeps the previous value. Never raises for a disk that cannot be read."""
        ...


class DiskDriver(Driver, Protocol):
    """Lists the disks (``/platform/api/perif/disk*``, the ``diskdrives`` event).

    ``probe()`` is true when there is at least one disk. ``disks()`` walks sysfs, the mount table and
    ``statvfs`` of every mount point, which blocks on a dead network mount or a stalled bus: the Linux
    driver sets ``blocking = True``. Errors: ``disks()`` leaves out a disk that vanishes while read and
    raises ``OSError`` only when nothing can be listed (answered 404 "no available data").
    """

    smart: SmartReader
    """This driver's S.M.A.R.T. reader (see ``SmartReader``: an attribute, so never run in the threadpool)."""

    def disks(self) -> list[Disk]:
        """Every disk with its mounted partitions and their usage, in a stable order. Cheap enough for
        the plugin's sampler (every ``interval_seconds`` while someone reads)."""
        ...

    __optional__ = ("io_counters",)

    def io_counters(self) -> list[IoCounters]:
        """Optional. The I/O counters of the block devices the OS counts, in the OS's order, read
        anew at each call (one small read: no ``statvfs``, no waiting on a drive). Left out is what
        node_exporter leaves out by default (on Linux, names matching its pattern
        ``^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$``): RAM, loop and floppy devices and
        the partitions of SCSI/SATA, IDE, virtio, Xen and NVMe disks; an eMMC's ``mmcblk0p1`` and
        device-mapper's ``dm-0`` stay, as they do there. So a device here need not be one of
        ``disks()``. ``GET /metrics`` calls it at each scrape (``node_disk_*_total``), through the
        threadpool for a ``blocking`` driver. Raises ``OSError`` when the counters cannot be read (the
        scrape then has no such series)."""
        ...
