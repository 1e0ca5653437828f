"""EdgeBus, the embedded MQTT broker: the daemon runs and supervises a Mosquitto process
(``GET /edgehub/api/edgebus/status``, ``PUT /edgehub/api/edgebus/config``).

The board's ``edgebus`` driver (``interface.EdgeBusDriver``) says where Mosquitto is and which account
and folder it runs with; ``broker.EdgeBus`` generates its config and password file
(``broker_files``), runs and restarts it and keeps the on/off switch across restarts; ``monitor`` is
the daemon's own MQTT client reading ``$SYS``. Without Mosquitto the endpoints answer 404.

Config ``[plugins.edgebus]``: ``port`` (1884: Debian's own mosquitto.service takes 1883),
``listen_addresses`` (loopback), ``username`` (the daemon's broker account), ``sys_interval_seconds``,
``start_timeout_seconds``, ``restart_backoff_max_seconds``, ``stable_seconds``.
"""
from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from portald.capability import Capability
from portald.settings import Settings as _Settings

from . import routes
from .broker import EdgeBus
from .interface import EdgeBusDriver


class Settings(_Settings):
    port: int = Field(1884, ge=1, le=65535)
    listen_addresses: tuple[str, ...] = Field(("127.0.0.1",), min_length=1, max_length=16)
    username: str = Field("portald", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    sys_interval_seconds: int = Field(10, ge=1, le=3600)
    start_timeout_seconds: float = Field(5.0, gt=0, le=60)
    restart_backoff_max_seconds: float = Field(30.0, ge=0.5, le=3600)
    stable_seconds: float = Field(30.0, gt=0, le=86400)

    @field_validator("listen_addresses")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            ipaddress.ip_address(address)  # ValueError names the bad one
        return value


def edgebus(ctx) -> EdgeBus | None:
    """This run's broker, or None without Mosquitto."""
    def build():
        driver = ctx.driver("edgebus")
        return None if driver is None else EdgeBus(driver, CAPABILITY.settings(ctx), ctx.state, ctx.log)

    return ctx.memo("edgebus", build)


def _each_run(method):
    """A start-up/shutdown hook calling ``method`` on this run's broker, when there is one."""
    def hook(ctx) -> None:
        bus = edgebus(ctx)
        if bus is not None:
            method(bus)
    return hook


CAPABILITY = Capability(
    "edgebus", EdgeBusDriver, settings=Settings,
    absent="Mosquitto is not installed",
    blueprints=lambda ctx: routes.blueprint(lambda: edgebus(ctx), ctx.log),
    startup=_each_run(EdgeBus.resume),  # not waited for: the daemon serves while the broker comes up
    shutdown=_each_run(EdgeBus.stop),
)
CAPABILITY.export(globals())
