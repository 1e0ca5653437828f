"""The daemon's core object: configuration, the plugin host, the auth service and the state store,
alive for one daemon run and reachable from requests as ``app.extensions["portald"]``."""
from __future__ import annotations

import logging

from .auth.service import AuthService
from .config import Config
from .plugin_host import PluginHost
from .state import StateStore

log = logging.getLogger("portald")


class Core:
    def __init__(self, config: Config):
        self.config = config
        self.state = StateStore(config.state_dir)
        self.state.ensure()
        self.auth = AuthService(config.auth, self.state)
        self.host = PluginHost(config)
        self._stopped = False
        _point_psutil_at(config.procfs_root)

    def start(self) -> None:
        self.host.start()

    def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.host.shutdown()
        self.auth.close()
        _point_psutil_at(Config.model_fields["procfs_root"].default, unless_changed_from=self.config.procfs_root)


def _point_psutil_at(procfs_root, unless_changed_from=None) -> None:
    """psutil reads /proc through its own module-level ``PROCFS_PATH``, not through the configured roots:
    point it at ``procfs_root`` so every driver using psutil (processes, CPU usage, memory) reads the
    same tree as the rest, fixture trees included. It is one setting per process: one daemon runs per
    process; tests build many apps one after another, and the app that set it puts the default back
    when it stops. (Drivers that signal processes check that this root is the live procfs first.)
    psutil is not imported just for this when the root is psutil's own default (~1 MiB saved for a
    daemon that never lists processes)."""
    import sys

    if "psutil" not in sys.modules and str(procfs_root) == "/proc":
        return
    import psutil

    if unless_changed_from is None or psutil.PROCFS_PATH == str(unless_changed_from):
        psutil.PROCFS_PATH = str(procfs_root)
