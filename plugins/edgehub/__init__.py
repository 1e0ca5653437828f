"""EdgeHub's cloud link (``/edgehub/api/macaddr``, ``conncfg``, ``connection``, ``data``): the device's
MQTT connection to its fleet, its connection setting with masked secrets, tag data that is never
lost once answered 201, PEM checks (``pem/temp``) and mass-deployment enrolment (``bootstrap/config``).

No board driver: nothing here is hardware (the MAC of the default route is two file reads under the
configured roots, ``macaddr.py``), so the capability declares no Protocol. Modules, one job each:
``conncfg`` (the setting, its storage and masking), ``pem``, ``bootstrap`` (enrolment), ``outbox`` (the
durable SQLite queue), ``link`` (the paho-mqtt client: connect, deliver, reconnect), ``routes`` (the HTTP
side), ``service`` (ties them together for one daemon run), ``prometheus`` (its series for
``GET /metrics``). Settings: ``[plugins.edgehub]`` (``etc/portald.toml``).
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from portald.capability import Capability
from portald.settings import Settings as _Settings

from . import prometheus, routes
from .service import EdgeHub


class Settings(_Settings):
    # the outbox: how many tag messages wait at most (then the oldest are dropped and counted)
    outbox_max_messages: int = Field(100_000, ge=10, le=10_000_000)
    # MQTT version spoken to the broker: "3.1.1" or "5"
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    keepalive_seconds: int = Field(60, ge=5, le=65535)
    connect_timeout_seconds: float = Field(10.0, gt=0, le=300)
    # reconnect: full-jitter exponential backoff, capped; a connection up this long resets it
    backoff_base_seconds: float = Field(1.0, gt=0, le=3600)
    backoff_max_seconds: float = Field(120.0, gt=0, le=86400)
    stable_seconds: float = Field(60.0, ge=0, le=86400)
    # after a dropped connection each attempt draws from at least [0, this * 2^(failures-1)) (spreads a fleet)
    reconnect_spread_seconds: float = Field(15.0, ge=0, le=3600)
    # connection storm: more than storm_threshold losses within storm_window_seconds
    storm_threshold: int = Field(10, ge=1, le=100_000)
    storm_window_seconds: float = Field(600.0, gt=0, le=86400)
    storm_backoff_seconds: float = Field(900.0, gt=0, le=86400)
    dccs_refetch_after_failures: int = Field(3, ge=1, le=1000)
    sas_ttl_seconds: int = Field(3600, ge=10, le=31_536_000)
    sas_renew_fraction: float = Field(0.8, gt=0, lt=1)
    profile_poll_seconds: float = Field(30.0, gt=0, le=86400)
    inflight_window: int = Field(100, ge=1, le=65535)
    ws_path: str = "/mqtt"
    # topics; {id} is the device id (the conncfg's uuid, else its mac, else the default route's MAC)
    data_topic: str = "Advantech/{id}/data"
    profile_topic: str = "Advantech/{id}/update/platform/profile"
    # mass deployment (PUT /edgehub/api/bootstrap/config): where the tenant token is exchanged for a
    # connection setting; "" = not set up (422)
    provisioning_url: str = ""
    provisioning_timeout_seconds: float = Field(15.0, gt=0, le=300)

    @field_validator("data_topic", "profile_topic")
    @classmethod
    def _topic(cls, value):
        try:
            topic = value.format(id="x")
        except (KeyError, IndexError, ValueError):
            raise ValueError("may only use {id}") from None
        if not topic or "#" in topic or "+" in topic:
            raise ValueError("must be a topic name without wildcards")
        return value


def _service(ctx) -> EdgeHub:
    return ctx.memo("service", lambda: EdgeHub(ctx, CAPABILITY.settings(ctx)))


def _shutdown(ctx) -> None:
    service = ctx.memo("service", lambda: None)
    if service is not None:
        service.close()


CAPABILITY = Capability(
    "edgehub", None, settings=Settings,
    blueprints=lambda ctx: routes.blueprint(_service(ctx)),
    startup=_service,
    shutdown=_shutdown,
    metrics=lambda ctx, driver: prometheus.families(_service(ctx)),
)
CAPABILITY.export(globals())
