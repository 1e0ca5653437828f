"""Finding, loading and calling plugins; choosing a driver per capability.

Three sources, one path: the ``portald.plugins`` entry-point group (the built-ins are listed there by
portald's own package; OEM packages add theirs), and single-file plugins dropped into ``plugins_dir``.
A plugin that fails to import, registers a hook that does not exist, or raises in a hook is recorded as
``failed`` with its reason and skipped; the daemon keeps serving with the rest.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pluggy

from . import hookspecs
from .change_window import ChangeWindow
from .config import Config
from .context import Paths, PluginContext
from .drivers import BlockingDriver
from .events import EventBus
from .runner import CommandRunner
from .sampler import Sampler
from .state import StateStore

log = logging.getLogger("portald.plugins")

ENTRY_POINT_GROUP = "portald.plugins"
ACTIVE, ABSENT, FAILED, DISABLED = "active", "absent", "failed", "disabled"


@dataclass
class PluginRecord:
    name: str
    source: str  # builtin, entrypoint, dropin
    origin: str  # module name or file path
    state: str = ACTIVE
    reason: str = ""

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "source": self.source, "origin": self.origin, "state": self.state,
                "reason": self.reason}


@dataclass
class DriverChoice:
    capability: str
    driver: Any
    plugin: str

    @property
    def name(self) -> str:
        return getattr(self.driver, "name", type(getattr(self.driver, "wrapped", self.driver)).__name__)


class PluginHost:
    def __init__(self, config: Config):
        self.config = config
        self.paths = Paths(config.sysfs_root, config.procfs_root, config.dev_root)
        self.runner = CommandRunner()
        self.pm = pluggy.PluginManager("portald")
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.choices: dict[str, DriverChoice] = {}
        self.drivers: dict[str, Any] = {}  # capability -> chosen driver (read on every request)
        self.candidates: dict[str, list[DriverChoice]] = {}
        self._samplers: list[Sampler] = []
        self._contexts: dict[str, PluginContext] = {}
        self.memos: dict[str, dict[str, Any]] = {}
        self.events: EventBus | None = None
        self.capabilities: dict[str, Any] = {}  # name -> portald.capability.Capability
        self.capability_plugins: dict[str, str] = {}  # capability name -> the plugin declaring it
        self.absent_reasons: dict[str, str] = {}  # capability -> why its drivers found nothing
        self.change_window = ChangeWindow(StateStore(config.state_dir / "changes"),
                                          config.changes.confirm_timeout_seconds)


    # -- loading ---------------------------------------------------------------------------------------
    def load(self) -> None:
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            source = "builtin" if ep.dist is not None and ep.dist.name == "portald" else "entrypoint"
            self._load_one(ep.name, source, ep.value, ep.load)
        folder = Path(self.config.plugins_dir)
        if folder.is_dir():
            for file in sorted(folder.glob("*.py")):
                self._load_one(file.stem, "dropin", str(file), lambda f=file: _import_file(f))
        for name in self.unknown_sections():
            log.warning("config section [plugins.%s] matches no plugin (misspelt?); it is ignored", name)

    def unknown_sections(self) -> list[str]:
        """``[plugins.<name>]`` sections of the config that no plugin by that name reads."""
        return sorted(set(self.config.plugins) - set(self.records))

    def _load_one(self, name: str, source: str, origin: str, importer: Callable[[], Any]) -> None:
        if name in self.records:
            log.warning("plugin %s from %s ignored: a plugin of that name is already loaded from %s",
                        name, origin, self.records[name].origin)
            return
        record = self.records[name] = PluginRecord(name, source, origin)
        if name in self.config.disabled_plugins:
            record.state, record.reason = DISABLED, "listed in disabled_plugins"
            return
        try:
            module = importer()
            self.pm.register(module, name=name)
        except Exception as exc:
            self.fail(name, f"cannot load: {type(exc).__name__}: {exc}")
            return
        unknown = [caller.name for caller in self.pm.get_hookcallers(module) or [] if caller.spec is None]
        if unknown:
            self.pm.unregister(name=name)
            self.fail(name, f"implements unknown hook(s): {', '.join(unknown)}")

    def fail(self, name: str, reason: str, unregister: bool = True) -> None:
        """Mark a plugin failed with ``reason``; with ``unregister=False`` (one broken driver of a
        board) it keeps serving the rest, and further reasons are added to the first."""
        record = self.records[name]
        if record.state != FAILED:
            record.state, record.reason = FAILED, reason
            log.error("plugin %s failed: %s", name, reason)
        elif not unregister and reason not in record.reason:
            record.reason = f"{record.reason}; {reason}"
            log.error("plugin %s: %s", name, reason)
        if unregister and self.pm.has_plugin(name):
            self.pm.unregister(name=name)

    def mark_absent(self, name: str, reason: str) -> None:
        record = self.records.get(name)
        if record and record.state == ACTIVE:
            record.state, record.reason = ABSENT, reason
            log.debug("plugin %s absent: %s", name, reason)

    def context(self, name: str) -> PluginContext:
        if name not in self._contexts:
            self._contexts[name] = PluginContext(self, name)
        return self._contexts[name]

    # -- calling ---------------------------------------------------------------------------------------
    def call(self, hook_name: str, fail_plugin: bool = True) -> list[tuple[str, Any]]:
        """Call one hook plugin by plugin, in pluggy's order; returns (plugin name, result) pairs for
        the plugins that answered something other than None."""
        hook = getattr(self.pm.hook, hook_name)
        results = []
        for impl in reversed(hook.get_hookimpls()):
            name = impl.plugin_name
            try:
                result = impl.function(**{arg: self.context(name) for arg in impl.argnames})
            except Exception as exc:
                if fail_plugin:
                    self.fail(name, f"{hook_name} raised {type(exc).__name__}: {exc}")
                else:
                    log.warning("plugin %s: %s raised %s: %s", name, hook_name, type(exc).__name__, exc)
                continue
            if result is not None:
                results.append((name, result))
        return results

    # -- declarations ----------------------------------------------------------------------------------
    def gather_capabilities(self) -> None:
        """Record every plugin's ``Capability`` declarations; a second plugin declaring a name that is
        already declared fails (two owners of one API area cannot both be right)."""
        self.capabilities.clear()
        self.capability_plugins.clear()
        for plugin, declared in self.call("portald_capabilities"):
            for capability in declared:
                owner = self.capability_plugins.get(capability.name)
                if owner is not None:
                    self.fail(plugin, f"declares capability {capability.name!r}, already declared by {owner}")
                    break
                self.capabilities[capability.name] = capability
                self.capability_plugins[capability.name] = plugin

    @property
    def declared_events(self) -> set[str]:
        return {event for name, cap in self.capabilities.items() if self.pm.has_plugin(self.capability_plugins[name])
                for event in cap.events}

    # -- drivers ---------------------------------------------------------------------------------------
    def _conforms(self, choice: DriverChoice) -> bool:
        from .contract import problems

        capability = self.capabilities.get(choice.capability)
        if capability is None or capability.protocol is None:
            return True  # no plugin serves this capability: the driver is never called anyway
        found = problems(choice.driver, capability.protocol)
        if found:
            self.fail(choice.plugin, f"driver {choice.name} does not satisfy {capability.protocol.__name__}: "
                      f"{'; '.join(found)}", unregister=False)
        return not found

    def choose_drivers(self) -> None:
        self.candidates.clear()
        for plugin, offered in self.call("portald_drivers"):
            if not isinstance(offered, dict):
                self.fail(plugin, "portald_drivers must return a dict")
                continue
            for capability, driver in offered.items():
                if getattr(driver, "blocking", False):
                    driver = BlockingDriver(driver, self.config.driver_timeout_seconds)
                self.candidates.setdefault(capability, []).append(DriverChoice(capability, driver, plugin))
        self.choices.clear()
        self.drivers.clear()
        self.absent_reasons.clear()
        for capability, candidates in self.candidates.items():
            for choice in self._ranked(capability, candidates):
                if not self.pm.has_plugin(choice.plugin):
                    continue  # failed to load or in a hook, and unregistered
                if not self._conforms(choice):
                    continue
                try:
                    found = bool(choice.driver.probe())
                except Exception as exc:
                    # only this driver is skipped: one bad sensor file must not take the board
                    # plugin's other drivers (the watchdog!) down with it
                    self.fail(choice.plugin, f"probe of {choice.name} raised {type(exc).__name__}: {exc}",
                              unregister=False)
                    continue
                if found:
                    self.choices[capability] = choice
                    self.drivers[capability] = choice.driver
                    log.info("%s: using driver %s (plugin %s)", capability, choice.name, choice.plugin)
                    break
                log.debug("%s: driver %s found nothing", capability, choice.name)
                reason = getattr(choice.driver, "absent_reason", "")
                if reason:
                    self.absent_reasons.setdefault(capability, f"{choice.name}: {reason}")

    def _ranked(self, capability: str, candidates: list[DriverChoice]) -> list[DriverChoice]:
        preferred = self.config.drivers.get(capability, [])

        def rank(item: tuple[int, DriverChoice]) -> tuple[int, int]:
            index, choice = item
            for position, wanted in enumerate(preferred):
                if wanted in (choice.name, choice.plugin):
                    return position, index
            return len(preferred), index

        return [choice for _, choice in sorted(enumerate(candidates), key=rank)]

    # -- lifetime --------------------------------------------------------------------------------------
    def start(self) -> None:
        self.load()
        self.gather_capabilities()
        self.choose_drivers()
        self.call("portald_startup")
        self.change_window.resume()
        declared = self.declared_events
        sources: dict[str, Any] = {}
        for plugin, offered in self.call("portald_event_sources"):
            if not isinstance(offered, dict):
                continue
            for name, source in offered.items():
                if name not in declared:
                    log.error("plugin %s offers event %r, which no Capability declares: not served", plugin, name)
                    continue
                sources.setdefault(name, source)
        server = self.config.server
        self.events = EventBus(sources, server.max_streams, server.heartbeat_seconds,
                               max_streams_per_user=server.max_streams_per_user, declared=declared)

    def new_sampler(self, name: str, collect, **options) -> Sampler:
        sampler = Sampler(name, collect, **options)
        self._samplers.append(sampler)
        return sampler

    def profile(self, defaults: dict[str, Any]) -> dict[str, Any]:
        """Defaults, overlaid by each plugin's keys; where two plugins give one key, the plugin called
        first (higher priority) wins."""
        merged = dict(defaults)
        seen: set[str] = set()
        for _plugin, keys in self.call("portald_profile", fail_plugin=False):
            if not isinstance(keys, dict):
                continue
            for key, value in keys.items():
                if key not in seen:
                    merged[key] = value
                    seen.add(key)
        return dict(sorted(merged.items()))

    def status(self) -> dict[str, Any]:
        return {
            "plugins": [record.as_json() for record in sorted(self.records.values(), key=lambda r: r.name)],
            "drivers": {cap: {"driver": c.name, "plugin": c.plugin} for cap, c in sorted(self.choices.items())},
            "capabilities": {
                name: {"plugin": self.capability_plugins[name],
                       "interface": f"{cap.protocol.__module__}.{cap.protocol.__qualname__}" if cap.protocol else None,
                       "events": sorted(cap.events)}
                for name, cap in sorted(self.capabilities.items())},
        }

    def shutdown(self) -> None:
        if self.events is not None:
            self.events.shutdown()
        for sampler in self._samplers:
            sampler.stop()
        self.change_window.shutdown()
        self.call("portald_shutdown", fail_plugin=False)


def _import_file(path: Path):
    module_name = f"portald_dropin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module
