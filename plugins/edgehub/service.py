"""One daemon run's EdgeHub: the outbox, the link, whether the link is enabled (kept across restarts)
and the device id.

``<id>`` in the topics is the device id: the stored connection setting's ``uuid`` when it has one,
else its ``mac`` (hex digits, upper case, no separators), else the MAC of the default route's interface
the same way, else a random UUID made once and kept in the state folder (``device-id``).

SQLite work runs in gevent's threadpool when the daemon runs patched (an fsync never stalls the event
loop), directly otherwise (tests with the Flask test client run real threads).
"""
from __future__ import annotations

import logging
import threading
import uuid

from . import conncfg as cc
from .link import Link
from .macaddr import mac_address
from .outbox import Outbox

log = logging.getLogger("portald.plugins.edgehub")
LINK_FILE = "link.json"


def run_blocking(fn):
    from gevent import monkey

    if monkey.is_module_patched("threading"):
        import gevent

        return gevent.get_hub().threadpool.apply(fn)
    return fn()


class EdgeHub:
    def __init__(self, ctx, settings):
        self.ctx, self.settings, self.state = ctx, settings, ctx.state
        self.app = None
        self._profile_copy: dict = {}
        self.outbox = Outbox(self.state.sqlite("outbox.db"), settings.outbox_max_messages, run_blocking)
        self.link = Link(settings, self.outbox, self.state, self.device_id, self.profile)
        self.outbox.on_commit = self.link.data_arrived

    # -- start and stop ------------------------------------------------------------------------------
    def bind_app(self, app) -> None:
        """The app is registered: the profile can be built, and a link enabled before a restart
        reconnects by itself."""
        self.app = app
        if (self.state.read_json(LINK_FILE) or {}).get("enabled"):
            log.info("EdgeHub: the link was enabled before the restart; connecting")
            # (only then: building the profile starts every capability's sampler)
            self.refresh_profile()
            self.link.set_enabled(True)

    def set_enabled(self, enabled: bool) -> None:
        self.state.write_json(LINK_FILE, {"enabled": enabled})
        self.link.set_enabled(enabled)

    def close(self) -> None:
        self.link.stop()
        self.outbox.close()

    # -- what the link asks --------------------------------------------------------------------------
    def device_id(self) -> str:
        cfg = cc.load(self.state)
        if cfg is not None and cfg.uuid:
            return cfg.uuid
        mac = (cfg.mac if cfg is not None and cfg.mac else None) or mac_address(self.ctx.paths)
        if mac:
            return "".join(ch for ch in mac if ch.isalnum()).upper()
        stored = self.state.read_bytes("device-id")
        if stored:
            return stored.decode().strip()
        made = str(uuid.uuid4())
        self.state.write_bytes("device-id", made.encode())
        return made

    def profile(self) -> dict:
        """The capability profile. Built on the calling greenlet in the daemon; without gevent's
        patching (the Flask test client, an embedding program) the link runs on a real thread, where
        the profile's hooks must not run (their samplers would start on that thread's own gevent hub):
        there it is the copy made on the main thread by ``refresh_profile`` (at start and on every
        ``GET /connection``)."""
        from gevent import monkey

        if monkey.is_module_patched("threading") or threading.current_thread() is threading.main_thread():
            return self._build_profile()
        return self._profile_copy

    def refresh_profile(self) -> None:
        from gevent import monkey

        if not monkey.is_module_patched("threading") and threading.current_thread() is threading.main_thread():
            self._profile_copy = self._build_profile()

    def _build_profile(self) -> dict:
        from portald.core_routes import profile_document

        if self.app is None:
            raise RuntimeError("the app is not registered yet")
        with self.app.app_context():
            return profile_document()

    def status(self) -> dict:
        counters = self.outbox.counters
        return {**self.link.status(),
                "outbox": {"depth": self.outbox.depth, "maxMessages": self.outbox.max_messages,
                           "dropped": counters["dropped"], "duplicates": counters["duplicates"],
                           "rejected": counters["rejected"]},
                "lastError": self.link.last_error}
