"""Services: list the machine's services, read one's status, start / stop / restart one
(``/platform/api/service*``, profile key ``service:list``).

The work is done by the board's ``services`` driver. This plugin offers the generic one, systemd over
D-Bus (``systemd_dbus.py``), ``trylast`` so that an OEM or sim board's driver is asked first. It is
probed once at startup with a short timeout; when no systemd answers (a container without systemd as
PID 1, a system bus that is down) the capability is absent: its endpoints answer 404, the profile says
``"service:list": 0`` and ``/platform/api/plugins`` shows the reason.

A ``services`` driver has ``probe()``, ``services()`` (a list of ``Service(unit, description, status)``),
``status(unit)`` and ``control(unit, action)``, takes unit names checked by ``unit_names`` and raises
``portald.drivers.DriverError`` (``NotFound`` for an unknown unit) with a message meant for the client.

Config ``[plugins.services]``: ``bus_address`` (default the system bus), ``call_timeout_seconds``
(each D-Bus call, 5), ``job_timeout_seconds`` (how long a start/stop/restart waits for its job, 25),
``probe_timeout_seconds`` (the startup probe, 2).
"""
from __future__ import annotations

from jeepney.bus import get_connectable_addresses
from pydantic import BaseModel, ConfigDict, Field, field_validator

from portald.hookspecs import hookimpl

from . import routes
from .systemd_dbus import SystemdDriver

SYSTEM_BUS = "unix:path=/run/dbus/system_bus_socket"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bus_address: str = SYSTEM_BUS
    call_timeout_seconds: float = Field(5.0, gt=0, le=60)
    job_timeout_seconds: float = Field(25.0, gt=0, le=600)
    probe_timeout_seconds: float = Field(2.0, gt=0, le=60)

    @field_validator("bus_address")
    @classmethod
    def _unix_socket(cls, value: str) -> str:
        try:
            next(get_connectable_addresses(value))
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"not a D-Bus unix socket address: {value!r} ({exc})") from None
        return value


def _systemd(ctx) -> SystemdDriver:
    def build() -> SystemdDriver:
        settings = Settings.model_validate(ctx.config)
        return SystemdDriver(settings.bus_address, settings.call_timeout_seconds, settings.job_timeout_seconds,
                             settings.probe_timeout_seconds)
    return ctx.memo("systemd", build)


@hookimpl(trylast=True)
def portald_drivers(ctx):
    return {"services": _systemd(ctx)}


@hookimpl
def portald_startup(ctx):
    if ctx.driver("services") is None:
        ctx.set_absent(_systemd(ctx).absent_reason or "no services driver")


@hookimpl
def portald_blueprints(ctx):
    return [routes.blueprint(lambda: ctx.driver("services"), ctx.log)]


@hookimpl
def portald_profile(ctx):
    return {"service:list": 1 if ctx.driver("services") is not None else 0}
