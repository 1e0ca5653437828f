"""The ``/platform/api/perif/disk`` routes and the ``diskdrives`` event.

Where the spec is vague:

* ``name`` is the kernel's device name (``sda``, ``nvme0n1``): Linux has no ``\\\\.\\PHYSICALDRIVE0``;
  ``/dev/<name>`` opens the disk, as the Windows name does.
* ``mediaType`` takes the spec's (Windows) values: ``"Fixed hard disk media"``, ``"External hard disk
  media"`` (USB, not removable), ``"Removable media"``. The issue asked for HDD/SSD/NVMe there; the
  spec wins, as a client comparing against the spec's strings would break otherwise.
* ``partitions`` lists mounted filesystems, as the Windows original listed volumes; ``mountPoint`` is the
  Linux mount point (``/``, ``/home``) where Windows gave a drive letter (``C:``).
* ``GET /perif/disk/partition`` is every disk's partitions in one list (disk order, then partition
  order): the spec's example is that list for a one-disk machine. With disks but nothing mounted it
  answers the spec's 404 "no available data", as ``/perif/disk`` does without disks.
* the SSE variant and the ``diskdrives`` event of ``/platform/api/events`` carry exactly the JSON of
  ``GET /perif/disk``; a new frame is sent only when it changed.
"""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, jsonify

from portald import events
from portald.auth.privileges import streaming
from portald.errors import NotSupported
from portald.events import served
from portald.sampler import Sampler

from .smart_cache import SmartCache


class Disks:
    """The disks as the API shows them: the sampled sysfs/usage part plus the cached S.M.A.R.T. part.
    Also the ``diskdrives`` event source."""

    def __init__(self, sampler: Sampler, smart: SmartCache):
        self.sampler, self.smart = sampler, smart
        self.interval = sampler.interval

    def drives(self) -> list[dict]:
        """The sampled disks without S.M.A.R.T.; 404 when there is none (all unplugged since start)."""
        disks = served(self.sampler)
        if not disks:
            raise NotSupported()
        return disks

    def snapshot(self) -> list[dict]:
        return [{**disk, "smartAttributes": self.smart.attributes(disk["name"], disk["serialNumber"])}
                for disk in self.drives()]


def blueprint(get_disks: Callable[[], Disks | None]) -> Blueprint:
    bp = Blueprint("disk", __name__, url_prefix="/platform/api/perif/disk")

    def current() -> Disks:
        disks = get_disks()
        if disks is None:
            raise NotSupported()
        return disks

    @bp.get("")
    @streaming
    def all_disks():
        """JSON, or with ``Accept: text/event-stream`` the same JSON as ``event: message`` frames."""
        return events.json_or_stream("diskdrives", lambda: current().snapshot())

    @bp.get("/partition")
    def partitions():
        found = [part for disk in current().drives() for part in disk["partitions"]]
        if not found:
            raise NotSupported("no mounted partition")
        return jsonify(found)

    return bp
