"""The ``rdesk`` driver interface: a VNC server for the machine's desktop, listening on loopback."""
from __future__ import annotations

from typing import Protocol

from portald.drivers import Driver


class RdeskDriver(Driver, Protocol):
    """Starts and stops one VNC server (RFB, RFC 6143) showing the board's desktop.

    The capability plugin owns sessions, passwords and the WebSocket relay; the driver only owns the
    server process. The server listens on 127.0.0.1 only (the daemon relays every byte), asks VNC
    authentication (security type 2) with the password it was started with, and serves any number
    of clients at once. Methods are called on the event loop: a driver waits with gevent (its child
    process and its sockets), never blocks the loop, and never starts a process from a pool thread.
    """

    os: str
    """What the spec's ``os`` field says of this desktop: ``"linux"``, ``"windows"``, ..."""

    def start(self, password: str) -> int:
        """Start the VNC server with ``password`` (8 printable ASCII characters: VNC authentication
        uses no more) and return the TCP port it listens on at 127.0.0.1, once it accepts
        connections. The password never appears on a command line. Raise ``DriverError`` (message
        for the client) when there is no display, no VNC server program, or it did not start in time.
        Called only while no server of this driver runs."""
        ...

    def running(self) -> bool:
        """True while the server started by ``start`` is alive (it may die on its own, e.g. when
        the X server goes away)."""
        ...

    def stop(self) -> None:
        """Stop the server (politely, then by force after a short grace) and wait for it; no-op
        when none runs. Never raises. The plugin calls it when the last session ends and when the
        daemon stops."""
        ...
