"""A small blocking client for NetworkManager's D-Bus API (``org.freedesktop.NetworkManager``), shared by
the NetworkManager ``networking`` and ``wifi`` drivers (``net_nm``, ``wifi_nm``). No Flask here.

It blocks like the systemd driver (``services.py``, whose module docstring explains why): every
operation opens its own connection with jeepney's blocking I/O — gevent-patched in the daemon, so a
call waiting on NetworkManager parks only its greenlet — with a timeout on every call and a
``gevent.Timeout`` around the whole operation. D-Bus errors become ``DriverError`` with
NetworkManager's own message (it is written for users: "Connection 'x' is not available on device
y..."), an unknown object becomes ``NotFound``.

Values: jeepney hands a variant over as ``(signature, value)`` and takes one back the same way, so a
connection's settings (``a{sa{sv}}``) read with ``GetSettings`` can be changed and sent back as they
are. ``plain()`` strips the signatures for reading. ``pack_settings``/``unpack_settings`` turn settings
into text and back losslessly (D-Bus marshalling, base64), for snapshots the daemon stores as JSON.
"""
from __future__ import annotations

import base64
import logging
import time
from contextlib import contextmanager

from jeepney import DBusAddress, new_method_call
from jeepney.low_level import Endianness, parse_signature
from jeepney.wrappers import DBusErrorResponse, unwrap_msg

from portald.drivers import DriverError, NotFound

from . import dbus_connection

log = logging.getLogger("portald.plugins.networking")

NM = "org.freedesktop.NetworkManager"
NM_PATH = "/org/freedesktop/NetworkManager"
SETTINGS_PATH = "/org/freedesktop/NetworkManager/Settings"
DEVICE = f"{NM}.Device"
WIRED = f"{NM}.Device.Wired"
WIRELESS = f"{NM}.Device.Wireless"
ACTIVE = f"{NM}.Connection.Active"
SETTINGS = f"{NM}.Settings"
CONNECTION = f"{NM}.Settings.Connection"
ACCESS_POINT = f"{NM}.AccessPoint"
IP4CONFIG = f"{NM}.IP4Config"
IP6CONFIG = f"{NM}.IP6Config"
PROPERTIES = "org.freedesktop.DBus.Properties"

# errors that mean "that object is gone", whatever the interface
_GONE = ("org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownMethod",
         f"{NM}.Settings.Connection.SettingNotFound", f"{NM}.Device.NotActive")

ACTIVE_ACTIVATED, ACTIVE_DEACTIVATED = 2, 4  # NMActiveConnectionState
DEVICE_ACTIVATED = 100  # NMDeviceState

_SETTINGS_TYPE = parse_signature(list("a{sa{sv}}"))


class NmError(DriverError):
    """NetworkManager refused, failed or did not answer; the message is meant for the API client."""

    def __init__(self, message: str, dbus_name: str = ""):
        super().__init__(message)
        self.dbus_name = dbus_name


class NmGone(NmError, NotFound):
    """The object asked about (a device, a connection, a checkpoint) no longer exists."""


def plain(value):
    """A D-Bus value without the variant signatures jeepney keeps: ``('s', 'x')`` → ``'x'``."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) and _is_signature(value[0]):
        return plain(value[1])
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _is_signature(text: str) -> bool:
    return bool(text) and all(c in "ybnqiuxtdsogavh(){}" for c in text)


def pack_settings(settings: dict) -> str:
    """Connection settings (``a{sa{sv}}`` as jeepney holds them) as text, losslessly."""
    return base64.b64encode(_SETTINGS_TYPE.serialise(settings, 0, Endianness.little)).decode("ascii")


def unpack_settings(text: str) -> dict:
    return _SETTINGS_TYPE.parse_data(base64.b64decode(text), 0, Endianness.little)[0]


class NmBus:
    """One open connection to the bus, for one operation (see ``session``)."""

    def __init__(self, conn, timeout: float):
        self.conn, self.timeout = conn, timeout

    def call(self, path: str, interface: str, method: str, signature: str | None = None, *args, to: str = NM):
        """One method call, answered within the call timeout; a D-Bus error raises NmError/NmGone."""
        request = new_method_call(DBusAddress(path, to, interface), method, signature, args)
        try:
            return unwrap_msg(self.conn.send_and_get_reply(request, timeout=self.timeout))
        except TimeoutError:
            raise NmError(f"NetworkManager did not answer {method} within {self.timeout:g} s") from None
        except DBusErrorResponse as exc:
            text = exc.data[0] if exc.data and isinstance(exc.data[0], str) else str(exc.name)
            raise (NmGone if exc.name in _GONE else NmError)(text, exc.name) from None

    def get(self, path: str, interface: str, prop: str):
        return plain(self.call(path, PROPERTIES, "Get", "ss", interface, prop)[0])

    def props(self, path: str, interface: str) -> dict:
        return plain(self.call(path, PROPERTIES, "GetAll", "s", interface)[0])

    def settings(self, path: str) -> dict:
        """A saved connection's settings, variants kept (ready to be changed and sent back)."""
        return self.call(path, CONNECTION, "GetSettings")[0]

    def connections(self) -> dict[str, dict]:
        """Every saved connection: its object path → its settings (variants kept)."""
        return read_each(self.call(SETTINGS_PATH, SETTINGS, "ListConnections")[0], self.settings)

    def devices(self) -> dict[str, dict]:
        """Every realized device: its object path → its ``Device`` properties."""
        return read_each(self.call(NM_PATH, NM, "GetDevices")[0], lambda path: self.props(path, DEVICE))

    def access_points(self, device: str) -> dict[str, dict]:
        """Every access point a Wi-Fi device sees, hidden ones too: path → ``AccessPoint`` properties."""
        return read_each(self.call(device, WIRELESS, "GetAllAccessPoints")[0],
                         lambda path: self.props(path, ACCESS_POINT))

    def wait(self, seconds: float, check, interval: float = 0.1):
        """Poll ``check()`` until it returns something other than None, at most ``seconds``; None
        when it never did. NetworkManager's state changes are seldom and a poll is a local call, so
        polling costs less code than following signals and cannot miss one."""
        deadline = time.monotonic() + seconds
        while True:
            result = check()
            if result is not None or time.monotonic() >= deadline:
                return result
            time.sleep(min(interval, max(deadline - time.monotonic(), 0)))


@contextmanager
def session(bus_address: str, call_timeout: float, total_seconds: float):
    """A connection for one operation, its errors turned into NmError/NmGone, closed afterwards."""
    with dbus_connection.bounded(bus_address, call_timeout, total_seconds, NmError, "NetworkManager") as conn:
        yield NmBus(conn, call_timeout)


def read_each(paths: list[str], read) -> dict[str, dict]:
    """``read(path)`` of every object still there (one may go between the list and the read)."""
    found = {}
    for path in paths:
        try:
            found[path] = read(path)
        except NmGone:
            continue
    return found


def networkmanager_runs(bus_address: str, timeout: float = 2.0) -> bool:
    """True when some process owns ``org.freedesktop.NetworkManager`` on the bus (one call, bounded)."""
    try:
        with session(bus_address, timeout, timeout) as bus:
            (owned,) = bus.call("/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", "s", NM,
                                to="org.freedesktop.DBus")
    except DriverError as exc:
        log.debug("networking: no NetworkManager on %s: %s", bus_address, exc)
        return False
    return bool(owned)
