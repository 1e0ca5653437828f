"""Process manager: the process list (``GET /platform/api/processes``, also as Server-Sent Events and as
the ``processes`` event), ``DELETE /platform/api/processes/:pid``, and the profile's ``processes`` key.

The board's ``processes`` driver (``interface.ProcessesDriver``) walks the process table and sends
signals; on Linux it reads ``<procfs_root>`` through psutil (a blocking walk, so the core runs it in its
threadpool) and signals only the live system's processes. The list comes from one background sampler
per daemon run that asks the driver every ``interval_seconds`` while someone reads and encodes the rows
once per sample; requests serve its latest snapshot and never walk the table themselves. What is the
plugin's own: who may end whose process (``routes.py``) and how (``kill.py``: SIGTERM, a grace period,
SIGKILL). Config ``[plugins.processes]``: ``interval_seconds`` (default 2), ``kill_grace_seconds``
(default 5: how long a process has to exit after SIGTERM before it gets SIGKILL).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import Field

from portald.capability import Capability
from portald.events import SnapshotSource, served
from portald.settings import Settings as _Settings

from . import routes
from .interface import ProcessesDriver


class Settings(_Settings):
    interval_seconds: float = Field(2.0, ge=0.01, le=3600)
    kill_grace_seconds: float = Field(5.0, ge=0, le=600)


@dataclass(frozen=True)
class Snapshot:
    rows: list[dict]
    body: bytes  # rows as JSON, encoded once per sample rather than once per request


def sampler(ctx):
    """The shared sampler of this daemon run, or None without a driver."""
    driver = ctx.driver("processes")
    if driver is None:
        return None

    def collect() -> Snapshot:
        rows = driver.read()
        return Snapshot(rows, json.dumps(rows, separators=(",", ":")).encode())

    interval = CAPABILITY.settings(ctx).interval_seconds
    return ctx.memo("sampler", lambda: ctx.sampler("table", collect, interval=interval))


def event_source(ctx):
    """The ``processes`` event: the same JSON as ``GET /platform/api/processes``."""
    found = sampler(ctx)
    return SnapshotSource(lambda: served(found).rows) if found else None


def profile(ctx, driver) -> dict:
    # Counting pids (one directory listing, ~0.03 ms here) instead of asking the sampler, which would
    # start — and keep alive — the full process walk just for this number.
    try:
        return {"processes": driver.count() if driver is not None else 0}
    except OSError as exc:  # the driver is still stuck in a walk
        ctx.log.debug("process count unavailable: %s", exc)
        return {"processes": 0}


CAPABILITY = Capability(
    "processes", ProcessesDriver, settings=Settings,
    absent="no processes driver found a process table",
    blueprints=lambda ctx: routes.blueprint(lambda: sampler(ctx), lambda: ctx.driver("processes"),
                                            lambda: CAPABILITY.settings(ctx).kill_grace_seconds),
    profile=profile,
    events={"processes": event_source},
)
CAPABILITY.export(globals())
