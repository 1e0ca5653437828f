"""Redundant power (``/platform/api/perif/redundant_power``): is each of the two power inputs online?

Driver interface (capability ``"power"``): ``name``, ``probe() -> bool`` and
``read() -> {"vin1": 0|1, "vin2": 0|1}`` (1 online, 0 offline), raising ``OSError`` when an input cannot
be read. With no driver the endpoint answers 404 and the profile says 0.

Config ``[plugins.power]``: ``interval_seconds`` (default 1), how often the ``pwrstatus`` event source
is polled while someone listens; ``vin1``/``vin2`` describe the wiring for the generic Linux driver and
are validated there (see its module docstring).

Reads are not sampled in the background: a reading is two small files (or a sim dict), cheaper than a
sampler's bookkeeping, and a GET should show a lost input at once. The event bus already shares one
poll among every SSE subscriber.

Profile key ``perif:redundant_power`` (1/0): the spec lists none for this area, and every ``perif:*`` key
it does list is named after its URL (``perif:wdt`` for ``/perif/wdt``, ``perif:disk``, ``perif:led``),
so a client deriving the key from the path finds this one.
"""
from pydantic import BaseModel, ConfigDict, Field

from portald.hookspecs import hookimpl

from . import routes

PROFILE_KEY = "perif:redundant_power"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    interval_seconds: float = Field(1.0, gt=0, le=3600)
    vin1: dict | None = None  # the Linux driver's, validated there
    vin2: dict | None = None


def settings(ctx) -> Settings:
    return ctx.memo("settings", lambda: Settings.model_validate(ctx.config))


@hookimpl
def portald_startup(ctx):
    settings(ctx)
    if ctx.driver("power") is None:
        ctx.set_absent("no redundant-power driver (configure [plugins.power] vin1/vin2 on Linux)")


@hookimpl
def portald_blueprints(ctx):
    return [routes.blueprint(ctx)]


@hookimpl
def portald_profile(ctx):
    return {PROFILE_KEY: 1 if ctx.driver("power") is not None else 0}


@hookimpl
def portald_event_sources(ctx):
    driver = ctx.driver("power")
    if driver is None:
        return None
    return {"pwrstatus": routes.EventSource(driver, settings(ctx).interval_seconds)}
