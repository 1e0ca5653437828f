"""SNMP traps: a v1/v2c trap receiver publishing each trap as the ``snmptrap`` event of
``/platform/api/events`` (payload: ``decode.py``), and ``GET /platform/api/snmptrap/stats`` (an
addition to the spec: how many datagrams were published or dropped, and why; ``receiver.py``).

Off unless ``[plugins.snmptrap] enabled = true``: a daemon that listens on UDP 162 for anyone must be
asked to. Settings: ``address`` (bind address, ``0.0.0.0``; an IPv6 literal such as ``::`` for IPv6),
``port`` (162; below 1024 needs root or CAP_NET_BIND_SERVICE), ``communities`` (the accepted community
strings, ``["public"]``) and ``max_traps_per_second`` (100; beyond it datagrams are dropped unread).
A trap is an event that happens, not a state that is sampled: the source is a ``PushSource``, so every
trap reaches every stream open at that moment exactly once, and none is replayed to a later stream.
A port that cannot be bound fails the plugin with the reason (``/platform/api/plugins``); the daemon
goes on. While the receiver is off the plugin is active all the same (its event is declared, a stream
may ask for it) and the stats endpoint answers 404 saying it is off.
"""
from __future__ import annotations

from pydantic import Field

from portald.capability import Capability
from portald.events import PushSource
from portald.settings import Settings as _Settings

from . import routes
from .receiver import Receiver


class Settings(_Settings):
    enabled: bool = False
    address: str = Field("0.0.0.0", min_length=1)
    port: int = Field(162, ge=0, le=65535)  # 0: any free port (tests)
    communities: list[str] = Field(default_factory=lambda: ["public"], min_length=1)
    max_traps_per_second: float = Field(100.0, gt=0, le=100000)


def source(ctx) -> PushSource:
    return ctx.memo("source", PushSource)


def receiver(ctx) -> Receiver | None:
    """This run's receiver, or None when disabled or not bound."""
    return _running(ctx).get("receiver")


def _running(ctx) -> dict:
    return ctx.memo("running", dict)


def _start(ctx) -> None:
    settings = CAPABILITY.settings(ctx)
    if not settings.enabled:  # the plugin stays active: its event is declared, only never sent
        ctx.log.debug("the SNMP trap receiver is off ([plugins.snmptrap] enabled = false)")
        return
    found = Receiver(settings.address, settings.port, settings.communities, settings.max_traps_per_second,
                     source(ctx).publish)
    try:
        found.start()
    except OSError as exc:
        ctx.report_problem(f"cannot listen for SNMP traps on {settings.address} port {settings.port}: "
                           f"{exc.strerror or exc}")
        return
    _running(ctx)["receiver"] = found


def _stop(ctx) -> None:
    found = _running(ctx).pop("receiver", None)
    if found is not None:
        found.stop()


CAPABILITY = Capability(
    "snmptrap", None, settings=Settings,
    blueprints=lambda ctx: routes.blueprint(lambda: receiver(ctx)),
    events={"snmptrap": lambda ctx: source(ctx) if CAPABILITY.settings(ctx).enabled else None},
    startup=_start, shutdown=_stop,
)
CAPABILITY.export(globals())
