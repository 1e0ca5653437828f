"""The hooks a portald plugin may implement (pluggy project name ``"portald"``).

Every hook is called with keyword arguments, one plugin at a time, so a plugin that raises is reported
and skipped without affecting the others; new arguments may be added to a hook without breaking
existing plugins. ``ctx`` is a ``portald.context.PluginContext`` bound to the plugin being called: its
``config`` section, ``log``, ``state``, ``runner``, ``paths`` and the chosen ``driver(capability)``.

Order: hooks run in pluggy's order (``tryfirst`` first, then the most recently registered, then
``trylast``). Board plugins use that order, or the ``[drivers]`` config table, to rank their drivers.
Every hook below must have a docstring: ``tests/test_hookspecs.py`` fails otherwise.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("portald")
hookimpl = pluggy.HookimplMarker("portald")


# --- hardware: board plugins ---------------------------------------------------------------------

@hookspec
def portald_drivers(ctx):
    """Return ``{capability: driver}`` for the hardware this board plugin can drive.

    A driver satisfies the ``typing.Protocol`` its capability declares (``name``, ``probe() -> bool``
    and the capability's methods; see ``docs/capabilities.md``). The core skips a driver that does not
    conform, then asks each capability's candidates in priority order and keeps the first whose
    ``probe()`` is true. ``blocking = True`` on a driver makes the core run its calls in the threadpool.
    """


# --- the API: capability plugins -----------------------------------------------------------------

@hookspec
def portald_capabilities(ctx):
    """Return the ``portald.capability.Capability`` objects this plugin declares (usually one).

    A declaration names the capability, the ``typing.Protocol`` its drivers satisfy (checked before a
    driver is used), the plugin's settings model and the event names it owns. ``Capability`` also
    provides the plugin's other hooks, so a capability plugin rarely writes one by hand.
    """


@hookspec
def portald_blueprints(ctx):
    """Return a list of Flask blueprints carrying this plugin's routes (the spec's paths).

    Routes declare their privilege with ``portald.auth.privileges.privilege``; undeclared reads need
    any valid token and undeclared writes need an administrator.
    """


@hookspec
def portald_profile(ctx):
    """Return a dict of capability-profile keys (``GET /edgehub/api/profile``), e.g. ``{"hwmon": 1}``.

    Called per profile request, so it must be cheap: serve sampled or probed values.
    """


@hookspec
def portald_event_sources(ctx):
    """Return ``{event_name: source}`` for ``GET /platform/api/events`` (names such as ``hwmon``).

    A source is an object with ``snapshot()`` returning the JSON-able data of one event; the event bus
    polls it while someone listens. Event names must be declared in the plugin's ``Capability``
    (``events=``), which ``Capability`` does for you; an undeclared name is refused.
    """


@hookspec
def portald_metrics(ctx):
    """Return an iterable of ``prometheus_client.core`` metric families (``GaugeMetricFamily``, ...)
    for ``GET /metrics``, called at every scrape.

    Names, units and labels follow node_exporter's (``node_hwmon_temp_celsius{chip,sensor}``); a
    plugin's own series start with ``portald_``. Serve sampled values (``ctx.sampler``), never read
    hardware here but through a driver (a ``blocking`` one runs in the threadpool). A plugin that
    raises is logged and left out of that scrape (``portald_scrape_collector_success{plugin}`` 0);
    a family whose name a plugin called before gave already is dropped (pluggy's order, as for the
    profile: drop-ins and OEM packages before the built-ins). ``Capability(metrics=fn)``, with
    ``fn(ctx, driver)``, implements it for a capability plugin.
    """


# --- lifetime ------------------------------------------------------------------------------------

@hookspec
def portald_startup(ctx):
    """Called once after drivers are chosen and before serving: check what is needed, call
    ``ctx.set_absent(reason)`` when the plugin has nothing to offer on this machine. Start no
    background work here that could run lazily on first use instead."""


@hookspec
def portald_shutdown(ctx):
    """Called once when the daemon stops: stop background work and flush state (within 5 s)."""
