"""One D-Bus connection per operation, for the Linux board's D-Bus drivers (systemd, NetworkManager,
systemd-resolved): opened with jeepney's blocking I/O (gevent's sockets in the daemon, so a call parks
only its greenlet), the whole operation bounded by a ``gevent.Timeout`` (jeepney leaves its ``Hello``
unbounded), transport failures turned into the driver's own error with a message for the client, and
the connection closed afterwards whatever happened."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import gevent
from jeepney.io.blocking import DBusConnection, open_dbus_connection


@contextmanager
def bounded(bus_address: str, connect_timeout: float, total_seconds: float, error: type[Exception],
            peer: str) -> Iterator[DBusConnection]:
    """A connection to ``bus_address`` for one operation talking to ``peer`` ("systemd"); raises
    ``error(message)`` when the bus cannot be reached, hangs up, or the operation outlasts
    ``total_seconds``."""
    limit = gevent.Timeout(total_seconds, error(f"{peer} did not answer within {total_seconds:g} s"))
    limit.start()
    conn = None
    try:
        try:
            conn = open_dbus_connection(bus_address, auth_timeout=connect_timeout)
        except (OSError, ValueError, RuntimeError) as exc:
            raise error(f"cannot connect to the bus at {bus_address}: {exc}") from None
        yield conn
    except (OSError, ValueError) as exc:  # the bus hung up or sent something unreadable
        raise error(f"lost the connection to {peer}: {exc}") from None
    finally:
        limit.close()
        if conn is not None:
            conn.close()
