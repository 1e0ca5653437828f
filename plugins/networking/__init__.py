"""Networking (``/platform/api/networking/*`` but Wi-Fi): the adapters with their addresses, routes,
DNS and counters (JSON, SSE, the ``netifaces`` event, profile key ``networking:interfaces``), static
IPv4 or DHCP per adapter, and the order of default routes.

The board's ``networking`` driver (``interface.NetworkingDriver``) reads and changes the OS's network;
on Linux NetworkManager over D-Bus where it runs, else netlink plus the ifupdown/systemd-networkd files.
Every change goes through the daemon's confirmation window (``portald.change_window``): unless a client
confirms it in time, the previous configuration comes back — a device reachable only over the network
it reconfigures cannot be cut off for good. ``GET /metrics`` serves the sampled counters
(``prometheus``). Config ``[plugins.networking]``.
"""
from __future__ import annotations

from pydantic import Field

from portald import events
from portald.capability import Capability
from portald.events import served
from portald.settings import Settings as _Settings

from . import prometheus, routes
from .interface import NetworkingDriver


class Settings(_Settings):
    interval_seconds: float = Field(2.0, gt=0, le=3600)
    route_metric_base: int = Field(100, ge=0, le=1_000_000)
    route_metric_step: int = Field(100, ge=1, le=100_000)


def _sorted_interfaces(driver):
    return lambda: sorted(driver.interfaces(), key=lambda item: item["ifIndex"])


def adapters(ctx):
    """The shared sampler of the adapters, or None without a driver."""
    def build():
        driver = ctx.driver("networking")
        if driver is None:
            return None
        return ctx.sampler("interfaces", _sorted_interfaces(driver),
                           interval=CAPABILITY.settings(ctx).interval_seconds)

    return ctx.memo("sampler", build)


def metrics(ctx):
    settings = CAPABILITY.settings(ctx)
    return lambda count: [settings.route_metric_base + i * settings.route_metric_step for i in range(count)]


def event_source(ctx):
    """The ``netifaces`` event: the same JSON as ``GET /platform/api/networking/interfaces``."""
    sampler = adapters(ctx)
    return events.SnapshotSource(lambda: served(sampler)) if sampler else None


def startup(ctx):
    """Register how a pending change's snapshot is restored, released and extended — also for a window
    left open by the previous run, which the core resumes after start-up."""
    driver = ctx.driver("networking")
    if driver is None:
        return

    def restore(snapshot: dict) -> None:
        try:
            driver.restore(snapshot)
        finally:  # readers see the restored configuration at once, not a sampling period later
            adapters(ctx).refresh()

    ctx.change_window.participate(routes.OWNER, restore, driver.release, getattr(driver, "extend", None))


def profile(ctx, driver):
    if driver is None:
        return {"networking:interfaces": 0}
    try:
        return {"networking:interfaces": len(served(adapters(ctx)))}
    except Exception:  # the profile is answered even when the adapters cannot be read right now
        return {"networking:interfaces": 0}


CAPABILITY = Capability(
    "networking", NetworkingDriver, settings=Settings,
    absent="no networking driver found network adapters",
    blueprints=lambda ctx: routes.blueprint(ctx, lambda: adapters(ctx), metrics(ctx)),
    profile=profile,
    events={"netifaces": event_source},
    startup=startup,
    metrics=lambda ctx, driver: prometheus.families(adapters(ctx)),
)
CAPABILITY.export(globals())
