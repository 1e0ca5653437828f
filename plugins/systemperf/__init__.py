"""System performance: CPU description and per-CPU usage, memory figures (``/platform/api/systemperf*``)
and the ``systemperf`` event.

One background sampler per daemon run collects everything every ``interval_seconds`` while someone reads;
requests and the event stream serve its latest sample. The profile says ``"systemperf": 1`` when
``<procfs_root>/cpuinfo`` lists a processor, else 0 (and the endpoints answer 404).
Config ``[plugins.systemperf]``: ``interval_seconds`` (default 2).
"""
from portald.hookspecs import hookimpl

from . import routes
from .collector import Collector


def _collector(ctx) -> Collector:
    return Collector(ctx.paths.procfs("cpuinfo"), ctx.paths.sysfs("devices", "system", "cpu"))


def _available(ctx) -> bool:
    def probe() -> bool:
        try:
            _collector(ctx).info()
        except (OSError, ValueError) as exc:
            ctx.log.debug("no CPU information: %s", exc)
            return False
        return True
    return ctx.memo("available", probe)


def _interval(ctx) -> float:
    value = ctx.config.get("interval_seconds", 2.0)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    ctx.log.warning("[plugins.systemperf] interval_seconds = %r is not a positive number; using 2", value)
    return 2.0


def sampler(ctx):
    """The shared sampler of this daemon run, or None without CPU information."""
    if not _available(ctx):
        return None
    interval = _interval(ctx)
    # in_thread: for "cpu MHz" an x86 kernel may interrupt each CPU in turn, slow on big machines
    return ctx.memo("sampler", lambda: ctx.sampler("sample", _collector(ctx), interval=interval, in_thread=True))


@hookimpl
def portald_startup(ctx):
    if not _available(ctx):
        ctx.set_absent(f"{ctx.paths.procfs('cpuinfo')} lists no processor")


@hookimpl
def portald_blueprints(ctx):
    return [routes.blueprint(lambda: sampler(ctx))]


@hookimpl
def portald_profile(ctx):
    return {"systemperf": 1 if _available(ctx) else 0}


@hookimpl
def portald_event_sources(ctx):
    found = sampler(ctx)
    return {"systemperf": routes.event_source(found)} if found else None
