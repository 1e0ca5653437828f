"""Redundant power (``/platform/api/perif/redundant_power``, the ``pwrstatus`` event, profile key
``perif:redundant_power``): is each of the two power inputs online?

The board's ``power`` driver (``interface.PowerDriver``) reads the inputs; on Linux from the sysfs files
named in ``[plugins.linux.power]`` (each board wires them differently). With no driver the endpoint
answers 404 and the profile says 0.

Settings ``[plugins.power]``: ``interval_seconds`` (default 1), how often the ``pwrstatus`` event source
is polled while someone listens.

Reads are not sampled in the background: a reading is two small files (or a sim dict), cheaper than a
sampler's bookkeeping, and a GET should show a lost input at once. The event bus already shares one
poll among every SSE subscriber.

Profile key ``perif:redundant_power`` (1/0): the spec lists none for this area, and every ``perif:*`` key
it does list is named after its URL (``perif:wdt`` for ``/perif/wdt``, ``perif:disk``, ``perif:led``),
so a client deriving the key from the path finds this one.
"""
from pydantic import Field

from portald import events
from portald.capability import Capability
from portald.settings import Settings as _Settings

from . import routes
from .interface import PowerDriver

PROFILE_KEY = "perif:redundant_power"


class Settings(_Settings):
    interval_seconds: float = Field(1.0, gt=0, le=3600)


def event_source(ctx):
    """The ``pwrstatus`` event: the same JSON as the GET, polled every ``interval_seconds``."""
    driver = ctx.driver("power")
    if driver is None:
        return None
    return events.SnapshotSource(lambda: routes.status(driver), CAPABILITY.settings(ctx).interval_seconds)


CAPABILITY = Capability(
    "power", PowerDriver, settings=Settings,
    absent="no redundant-power driver (configure [plugins.linux.power] vin1/vin2 on Linux)",
    blueprints=routes.blueprint,
    profile=lambda ctx, driver: {PROFILE_KEY: 1 if driver is not None else 0},
    events={"pwrstatus": event_source},
)
CAPABILITY.export(globals())
