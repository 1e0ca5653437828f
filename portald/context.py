"""What a plugin is handed in every hook: ``ctx``, bound to that plugin.

It carries the core's services — the plugin's own ``[plugins.<name>]`` section (never another plugin's:
a driver's settings reach it through ``create_driver``), hardware roots, the command runner, durable
state, samplers, the blocking-call wrapper — and the drivers chosen per capability. Plugins never import
each other: they meet here.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .sampler import Sampler
from .state import StateStore

if TYPE_CHECKING:
    from .plugin_host import PluginHost


class Paths:
    """Hardware paths under the configured roots: ``paths.sysfs("class", "hwmon")``."""

    def __init__(self, sysfs_root: Path, procfs_root: Path, dev_root: Path):
        self.sysfs_root, self.procfs_root, self.dev_root = Path(sysfs_root), Path(procfs_root), Path(dev_root)

    def sysfs(self, *parts: str) -> Path:
        return self.sysfs_root.joinpath(*parts)

    def procfs(self, *parts: str) -> Path:
        return self.procfs_root.joinpath(*parts)

    def dev(self, *parts: str) -> Path:
        return self.dev_root.joinpath(*parts)


class PluginContext:
    def __init__(self, host: "PluginHost", name: str):
        self._host = host
        self.name = name
        self.log = logging.getLogger(f"portald.plugins.{name}")

    # configuration ---------------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        """This plugin's ``[plugins.<name>]`` section (empty dict when absent)."""
        return self._host.config.plugin_section(self.name)

    @property
    def sim(self) -> bool:
        """True when the daemon runs on the virtual board (``--sim`` / ``board = "sim"``)."""
        return self._host.config.board == "sim"

    @property
    def paths(self) -> Paths:
        return self._host.paths

    # services --------------------------------------------------------------------------------------
    @property
    def runner(self):
        return self._host.runner

    @property
    def state(self) -> StateStore:
        """A folder of the state dir owned by this plugin (``state_dir/plugins/<name>``)."""
        return StateStore(self._host.config.state_dir / "plugins" / self.name)

    def sampler(self, name: str, collect: Callable[[], Any], **options) -> Sampler:
        """A shared background sampler, stopped when the daemon stops."""
        return self._host.new_sampler(f"{self.name}.{name}", collect, **options)

    @property
    def change_window(self):
        """The confirmation window (``portald.change_window.ChangeWindow``) every change that could cut
        the operator off goes through."""
        return self._host.change_window

    def memo(self, key: str, factory: Callable[[], Any]) -> Any:
        """One object per daemon run for this plugin (plugins are modules shared by every app in a
        process, so per-run objects such as samplers live here, not in module globals)."""
        memos = self._host.memos.setdefault(self.name, {})
        if key not in memos:
            memos[key] = factory()
        return memos[key]

    @property
    def events(self):
        """The event bus (``portald.events.EventBus``); available once start-up hooks have run."""
        return self._host.events

    # hardware --------------------------------------------------------------------------------------
    def driver(self, capability: str):
        """The driver chosen for ``capability``, or None when no driver probed true."""
        return self._host.drivers.get(capability)

    def blocking(self, helper, own_thread: bool = False):
        """``helper`` with every method run in the threadpool under the daemon's driver timeout: the
        wrapper the core puts around every ``blocking = True`` driver, for a plugin's own blocking
        helper (a password hash, a C library call) — the one way a plugin runs blocking work. A helper
        that uses sockets (netlink, D-Bus) says ``own_thread=True`` and gets one thread of its own, so
        no other blocking work ever runs in a thread that has used a socket (see
        ``portald.drivers.BlockingDriver``)."""
        from .drivers import BlockingDriver

        pool = None
        if own_thread:
            from gevent.threadpool import ThreadPool

            pool = ThreadPool(1)
        return BlockingDriver(helper, self._host.config.driver_timeout_seconds, pool)

    def require(self, capability: str):
        """The chosen driver, or the spec's 404 "not supported" when there is none."""
        found = self._host.drivers.get(capability)
        if found is None:
            from .errors import NotSupported

            raise NotSupported()
        return found

    def absent_reason(self, capability: str) -> str:
        """What a driver of ``capability`` said when its probe found nothing (its ``absent_reason``
        attribute, e.g. "no systemd on unix:path=..."), or ``""``."""
        return self._host.absent_reasons.get(capability, "")

    # state reporting -------------------------------------------------------------------------------
    def report_problem(self, reason: str) -> None:
        """Something this plugin offers is broken (a driver that would not build, a settings table
        that does not validate); the plugin goes on with the rest. Logged, and shown in
        /platform/api/plugins as the plugin's failure reason."""
        self._host.fail(self.name, reason, unregister=False)

    def set_absent(self, reason: str) -> None:
        """This plugin has nothing to offer on this machine (shown in /platform/api/plugins)."""
        self._host.mark_absent(self.name, reason)
