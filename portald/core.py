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

    def start(self) -> None:
        self.host.start()

    def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.host.shutdown()
        self.auth.close()
