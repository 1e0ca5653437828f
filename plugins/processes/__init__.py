"""Process manager: the process list (``GET /platform/api/processes``, also as Server-Sent Events and as
the ``processes`` event), ``DELETE /platform/api/processes/:pid``, and the profile's ``processes`` key.

The list comes from one background sampler per daemon run that walks the process table in gevent's
threadpool (psutil reads /proc with blocking calls: ~0.1 ms per process) every ``interval_seconds``
while someone reads; requests serve its latest snapshot and never walk /proc themselves.
Config ``[plugins.processes]``: ``interval_seconds`` (default 2), ``kill_grace_seconds`` (default 5:
how long a process has to exit after SIGTERM before it gets SIGKILL).
"""
import psutil

from portald.hookspecs import hookimpl

from . import routes
from .table import ProcessTable


def _seconds(ctx, key: str, default: float, minimum: float) -> float:
    value = ctx.config.get(key, default)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= minimum:
        return float(value)
    ctx.log.warning("[plugins.processes] %s = %r is not a number >= %g; using %g", key, value, minimum, default)
    return default


def sampler(ctx):
    """The shared sampler of this daemon run."""
    interval = _seconds(ctx, "interval_seconds", 2.0, 0.01)
    table = ctx.memo("table", ProcessTable)
    return ctx.memo("sampler", lambda: ctx.sampler("table", table, interval=interval, in_thread=True))


@hookimpl
def portald_blueprints(ctx):
    return [routes.blueprint(ctx, lambda: sampler(ctx), lambda: _seconds(ctx, "kill_grace_seconds", 5.0, 0.0))]


@hookimpl
def portald_profile(ctx):
    # Counting pids (one directory listing, ~0.03 ms here) instead of asking the sampler, which would
    # start — and keep alive — the full process walk just for this number.
    return {"processes": len(psutil.pids())}


@hookimpl
def portald_event_sources(ctx):
    return {"processes": routes.event_source(sampler(ctx))}
