"""The ``services`` driver for systemd, over D-Bus (jeepney): list the services, read one service's
state, start / stop / restart one and wait for its job. No Flask here.

It talks to ``org.freedesktop.systemd1`` at ``/org/freedesktop/systemd1`` on the configured bus (the
system bus by default): ``ListUnitsByPatterns`` and ``ListUnitFilesByPatterns`` for the list (a
disabled service is usually not loaded, so only the unit-file list knows it), ``LoadUnit`` and the
unit's properties for one service, ``StartUnit`` / ``StopUnit`` / ``RestartUnit`` in mode ``replace``
(what ``systemctl`` uses) and the ``JobRemoved`` signal for the job's result.

How it blocks: every operation opens its own connection, makes its calls with jeepney's *blocking* I/O
and closes it. In the daemon, gevent's ``patch_all()`` runs before this module is imported, so those
sockets and jeepney's selector are gevent's and a call waiting on systemd only parks its own greenlet.
Unpatched (tests, ``portald check``) the same code simply blocks. The threadpool is not used: a
gevent-patched socket created in a pool thread would belong to that thread's hub. A connection per
operation costs one authentication and ``Hello`` (well under a millisecond on a local socket) and
needs no lock, since no two greenlets ever share one. Every call has a timeout; a ``gevent.Timeout``
around the whole operation also bounds what jeepney leaves unbounded (its ``Hello``).

Tested against a real ``dbus-daemon`` on a private socket with a fake systemd
(``tests/fixtures/services/fake_systemd.py``) owning ``org.freedesktop.systemd1``: that proves the
calls, signatures, signals and error handling at the D-Bus boundary, not real systemd's semantics
(dependencies, polkit, job merging), which only a run on a systemd machine shows.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass

from jeepney import DBusAddress, HeaderFields, MatchRule, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.wrappers import DBusErrorResponse, unwrap_msg

from pydantic import Field, field_validator

from portald.drivers import DriverError, NotFound
from portald.settings import Settings as _Settings

from . import dbus_connection

log = logging.getLogger("portald.plugins.services")

SYSTEMD = "org.freedesktop.systemd1"
MANAGER = DBusAddress("/org/freedesktop/systemd1", SYSTEMD, "org.freedesktop.systemd1.Manager")
UNIT_INTERFACE = "org.freedesktop.systemd1.Unit"
NO_SUCH_UNIT = "org.freedesktop.systemd1.NoSuchUnit"
JOB_METHODS = {"start": "StartUnit", "stop": "StopUnit", "restart": "RestartUnit"}
JOB_SUCCEEDED = frozenset({"done", "skipped"})  # "skipped": nothing to do, e.g. a reload of a stopped unit
DISABLED_FILE_STATES = frozenset({"disabled", "masked", "masked-runtime"})


class ServiceError(DriverError):
    """systemd refused, failed or could not be reached; the message is meant for the API client."""


class NoSuchService(ServiceError, NotFound):
    """systemd knows no unit of that name."""


@dataclass(frozen=True)
class Service:
    unit: str  # e.g. "ssh.service"
    description: str  # systemd's Description=, a one-line title
    status: str  # running, stopped, disabled or unknown


def status_of(active_state: str, file_state: str, load_state: str = "loaded") -> str:
    """The spec's status for systemd's states.

    * ``running``: ActiveState ``active`` or ``reloading`` (a oneshot that has exited but stays
      active, SubState ``exited``, counts as running too: systemd considers it up);
    * ``disabled``: not active, and its unit file is ``disabled`` or ``masked`` (or the unit is
      masked): it will not start at boot, or cannot start at all;
    * ``stopped``: ``inactive`` or ``failed`` otherwise (enabled, static, transient, generated...);
    * ``unknown``: in transition (``activating``, ``deactivating``, including a unit waiting to be
      restarted) or any state this mapping does not know.
    """
    if active_state in ("active", "reloading"):
        return "running"
    if active_state in ("inactive", "failed"):
        if load_state == "masked" or file_state in DISABLED_FILE_STATES:
            return "disabled"
        return "stopped"
    return "unknown"


def _template_of(unit: str) -> str:
    """``getty@tty1.service`` → ``getty@.service``: the unit file an instance comes from."""
    prefix, at, rest = unit.partition("@")
    return f"{prefix}@.{rest.rsplit('.', 1)[-1]}" if at else ""


class _Bus:
    """One open connection with a time limit on every call; D-Bus errors surface as DBusErrorResponse."""

    def __init__(self, conn, timeout: float):
        self.conn, self.timeout = conn, timeout

    def ask(self, message):
        try:
            return unwrap_msg(self.conn.send_and_get_reply(message, timeout=self.timeout))
        except TimeoutError:
            member = message.header.fields.get(HeaderFields.member, "a call")
            raise ServiceError(f"systemd did not answer {member} within {self.timeout:g} s") from None

    def call(self, method: str, signature: str | None = None, *args):
        return self.ask(new_method_call(MANAGER, method, signature, args))

    def get(self, obj: DBusAddress, prop: str) -> str:
        props = DBusAddress(obj.object_path, obj.bus_name, "org.freedesktop.DBus.Properties")
        (variant,) = self.ask(new_method_call(props, "Get", "ss", (obj.interface, prop)))
        return variant[1]  # a variant arrives as (signature, value)

    @contextmanager
    def job_signals(self):
        """Queue systemd's JobRemoved signals from here on: subscribe before queueing a job, so that a
        job that ends at once is not missed. systemd sends a job's signals to the client that queued it
        even when it never called Manager.Subscribe() (systemctl relies on that too)."""
        rule = dict(type="signal", interface=MANAGER.interface, member="JobRemoved", path=MANAGER.object_path)
        # the bus resolves the well-known sender name, so no other client can fake our job's end; the
        # local filter cannot (messages carry the owner's unique name), hence the two rules
        self.ask(message_bus.AddMatch(MatchRule(sender=SYSTEMD, **rule)))
        with self.conn.filter(MatchRule(**rule), queue=deque()) as queue:
            yield queue

    def wait_for_job(self, queue: deque, job: str, seconds: float) -> str | None:
        """The job's result (``done``, ``failed``, ``canceled``, ...), or None when it runs longer."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                signal = self.conn.recv_until_filtered(queue, timeout=max(deadline - time.monotonic(), 0))
            except TimeoutError:
                return None
            _id, path, _unit, result = signal.body
            if path == job:
                return result


class SystemdDriver:
    """The ``services`` capability on systemd. Config: ``Settings`` below."""

    name = "linux.services"

    def __init__(self, bus_address: str, call_timeout: float = 5.0, job_timeout: float = 25.0,
                 probe_timeout: float = 2.0):
        self.bus_address = bus_address
        self.call_timeout, self.job_timeout, self.probe_timeout = call_timeout, job_timeout, probe_timeout
        self.absent_reason = ""

    def probe(self) -> bool:
        """True when systemd answers on the bus (one property read, within ``probe_timeout``)."""
        try:
            with self._bus(self.probe_timeout, self.probe_timeout) as bus:
                version = bus.get(MANAGER, "Version")
        except ServiceError as exc:
            self.absent_reason = f"no systemd on {self.bus_address}: {exc}"
            log.debug("services: %s", self.absent_reason)
            return False
        log.info("services: systemd %s on %s", version, self.bus_address)
        return True

    def services(self) -> list[Service]:
        """Every service unit: the loaded ones with their state, and the unit files of the others
        (inactive, so their status follows from the file state; their description is not read, as
        that would mean loading every one of them)."""
        with self._bus(3 * self.call_timeout) as bus:
            (loaded,) = bus.call("ListUnitsByPatterns", "asas", [], ["*.service"])
            (files,) = bus.call("ListUnitFilesByPatterns", "asas", [], ["*.service"])
        file_states = {path.rpartition("/")[2]: state for path, state in files}
        found: dict[str, Service] = {}
        for unit, description, load_state, active_state, *_ in loaded:
            if load_state == "not-found":  # referenced by another unit, but there is no such service
                continue
            file_state = file_states.get(unit) or file_states.get(_template_of(unit), "")
            found[unit] = Service(unit, description, status_of(active_state, file_state, load_state))
        for unit, state in file_states.items():
            # aliases are another name of a listed unit; a template runs only as its instances
            if unit not in found and state != "alias" and not unit.endswith("@.service"):
                found[unit] = Service(unit, "", status_of("inactive", state))
        return sorted(found.values(), key=lambda s: s.unit)

    def status(self, unit: str) -> str:
        """The status of one service unit; NoSuchService when systemd has no such unit."""
        with self._bus(5 * self.call_timeout) as bus:
            (path,) = bus.call("LoadUnit", "s", unit)
            obj = DBusAddress(path, SYSTEMD, UNIT_INTERFACE)
            load_state = bus.get(obj, "LoadState")
            if load_state == "not-found":
                raise NoSuchService(f"Unit {unit} not found.")
            return status_of(bus.get(obj, "ActiveState"), bus.get(obj, "UnitFileState"), load_state)

    def control(self, unit: str, action: str) -> None:
        """Start, stop or restart a unit and wait (at most ``job_timeout``) for its job to end."""
        with self._bus(self.job_timeout + 3 * self.call_timeout) as bus:
            with bus.job_signals() as removed:
                (job,) = bus.call(JOB_METHODS[action], "ss", unit, "replace")
                result = bus.wait_for_job(removed, job, self.job_timeout)
        log.debug("services: %s %s: job %s ended: %s", action, unit, job, result)
        if result is None:
            raise ServiceError(f"{action} of {unit} has not finished after {self.job_timeout:g} s "
                               "(systemd goes on with it)")
        if result not in JOB_SUCCEEDED:
            raise ServiceError(f"{action} of {unit} failed (job result: {result}); see journalctl -u {unit}")

    @contextmanager
    def _bus(self, seconds: float, connect_timeout: float | None = None):
        """A connection for one operation, its errors turned into ServiceError, closed afterwards."""
        timeout = self.call_timeout if connect_timeout is None else connect_timeout
        with dbus_connection.bounded(self.bus_address, timeout, seconds,
                                     ServiceError, "systemd") as conn:
            try:
                yield _Bus(conn, timeout)
            except DBusErrorResponse as exc:
                message = exc.data[0] if exc.data and isinstance(exc.data[0], str) else str(exc.name)
                raise (NoSuchService if exc.name == NO_SUCH_UNIT else ServiceError)(message) from None


CAPABILITY = "services"
from .host_paths import SYSTEM_BUS  # noqa: E402 (the defaults of every host path sit there)


class Settings(_Settings):
    """``[plugins.linux.services]``: ``bus_address`` (default the system bus), ``call_timeout_seconds``
    (each D-Bus call, 5), ``job_timeout_seconds`` (how long a start/stop/restart waits for its job,
    25), ``probe_timeout_seconds`` (the start-up probe, 2)."""

    bus_address: str = SYSTEM_BUS
    call_timeout_seconds: float = Field(5.0, gt=0, le=60)
    job_timeout_seconds: float = Field(25.0, gt=0, le=600)
    probe_timeout_seconds: float = Field(2.0, gt=0, le=60)

    @field_validator("bus_address")
    @classmethod
    def _unix_socket(cls, value: str) -> str:
        from jeepney.bus import get_connectable_addresses

        try:
            next(get_connectable_addresses(value))
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"not a D-Bus unix socket address: {value!r} ({exc})") from None
        return value


def create_driver(ctx, settings: Settings):
    return SystemdDriver(settings.bus_address, settings.call_timeout_seconds, settings.job_timeout_seconds,
                         settings.probe_timeout_seconds)
