"""What a capability plugin declares — once — and the hooks the core builds from it.

A capability plugin serves one API area (``hwmon``, ``gpio``, ...). Instead of writing the same
start-up / blueprints / profile hooks by hand, it declares a ``Capability`` and exports its hooks::

    CAPABILITY = Capability(
        "power", PowerDriver,                             # name (= plugin name) and driver Protocol
        absent="no redundant-power driver",               # why, when no driver probed true
        profile=lambda ctx, driver: {"perif:redundant_power": int(driver is not None)},
        blueprints=routes.blueprint,                      # fn(ctx) -> Blueprint or [Blueprint]
        settings=Settings,                                # model of [plugins.power], optional
        events={"pwrstatus": event_source},               # event name -> fn(ctx) -> source | None
        metrics=power_metrics,                            # fn(ctx, driver) -> metric families, optional
    )
    CAPABILITY.export(globals())                          # the plugin's hooks, built from the above

What it gives the core: the Protocol every driver offered for ``name`` must satisfy (checked by
``portald.contract`` before a driver is used), the settings model (validated at start-up: a bad table
fails the plugin with the reason), the event names it owns (``/platform/api/events`` accepts exactly
the declared names) and, optionally, its series for ``GET /metrics`` (``metrics=``: an iterable of
``prometheus_client.core`` metric families, asked at each scrape; see ``portald.metrics``). Hooks a
plugin needs beyond these (``portald_drivers`` for a capability that offers a generic driver itself,
extra start-up work through ``startup=``) sit beside them.

A plugin serving more than one capability (``host``: host facts, the displays and the board's identity)
declares the others with ``also=(Capability("display", DisplayDriver), ...)``: their Protocols are
declared with the main one, whose functions (profile, blueprints, events, settings) do the plugin's
work; their drivers are optional to the plugin (no driver does not make it absent) and closed with it.
"""
from __future__ import annotations

from typing import Any, Callable

from .hookspecs import hookimpl

ProfileFn = Callable[[Any, Any], dict]


class Capability:
    def __init__(self, name: str, protocol: type | None, *, absent: str = "",
                 profile: ProfileFn | None = None, blueprints: Callable[[Any], Any] | None = None,
                 settings: type | None = None, events: dict[str, Callable[[Any], Any]] | None = None,
                 startup: Callable[[Any], None] | None = None, shutdown: Callable[[Any], None] | None = None,
                 driver_required: bool = True, also: tuple["Capability", ...] = (),
                 metrics: Callable[[Any, Any], Any] | None = None):
        self.name, self.protocol = name, protocol
        self.absent = absent or f"no {name} driver found its hardware"
        self._profile, self._blueprints = profile, blueprints
        self.settings_model = settings
        self.events = dict(events or {})
        self._startup, self._shutdown = startup, shutdown
        self._metrics = metrics
        self.driver_required = driver_required and protocol is not None
        self.also = tuple(also)

    # -- what a route or a helper asks -------------------------------------------------------------
    def settings(self, ctx):
        """This plugin's validated ``[plugins.<name>]`` table (the model's defaults when absent)."""
        if self.settings_model is None:
            if ctx.config:
                from .settings import SettingsError

                raise SettingsError(f"[plugins.{ctx.name}] takes no settings, but has {sorted(ctx.config)}")
            return None
        from .settings import validate

        return ctx.memo("settings", lambda: validate(self.settings_model, ctx.config, f"[plugins.{ctx.name}]"))

    # -- the hooks -------------------------------------------------------------------------------------
    @hookimpl
    def portald_capabilities(self, ctx):
        return [self, *self.also]

    @hookimpl
    def portald_startup(self, ctx):
        self.settings(ctx)  # a bad table fails the plugin here, before it serves anything
        if self.driver_required and ctx.driver(self.name) is None:
            ctx.set_absent(ctx.absent_reason(self.name) or self.absent)
        if self._startup is not None:
            self._startup(ctx)

    @hookimpl
    def portald_blueprints(self, ctx):
        if self._blueprints is None:
            return None
        made = self._blueprints(ctx)
        return list(made) if isinstance(made, (list, tuple)) else [made]

    @hookimpl
    def portald_profile(self, ctx):
        if self._profile is None:
            return None
        return self._profile(ctx, ctx.driver(self.name) if self.protocol is not None else None)

    @hookimpl
    def portald_event_sources(self, ctx):
        sources = {}
        for event, make in self.events.items():
            source = make(ctx)
            if source is not None:
                sources[event] = source
        return sources or None

    @hookimpl
    def portald_metrics(self, ctx):
        if self._metrics is None:
            return None
        return self._metrics(ctx, ctx.driver(self.name) if self.protocol is not None else None)

    @hookimpl
    def portald_shutdown(self, ctx):
        if self._shutdown is not None:
            self._shutdown(ctx)
        for declared in (self, *self.also):
            driver = ctx.driver(declared.name) if declared.protocol is not None else None
            close = getattr(driver, "close", None)
            if close is not None:
                close()

    HOOKS = ("portald_capabilities", "portald_startup", "portald_blueprints", "portald_profile",
             "portald_event_sources", "portald_metrics", "portald_shutdown")

    def export(self, namespace: dict) -> None:
        """Put this capability's hooks into a plugin module's namespace (``export(globals())``)."""
        for hook in self.HOOKS:
            namespace[hook] = getattr(self, hook)
