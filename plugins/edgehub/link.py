"""The MQTT cloud link: one paho-mqtt 2.x client driven by one thread of its own.

The thread (a greenlet under the daemon's ``patch_all``; paho only uses ``socket``/``select``/``ssl``,
which gevent patches, so it never blocks the hub) connects, delivers the outbox, and reconnects:

* **Endpoints.** ``mqttHost``/``mqttPort`` with ``username``/``password``; or ``connectionString`` in
  the Azure IoT Hub form (``HostName=…;DeviceId=…;SharedAccessKey=…``: a SAS token as the password,
  client id = DeviceId, TLS, renewed — by a clean reconnect — after ``sas_renew_fraction`` of its life);
  or ``deviceon.dccsUrl`` + ``iotKey``: ``GET {dccsUrl}/v1/serviceCredentials/{iotKey}`` gives
  ``serviceHost`` and ``credential.protocols["mqtt"|"mqtt+ssl"].{port, username, password}``, fetched
  again after ``dccs_refetch_after_failures`` failed connections in a row (as Advantech's SDKs do).
  TCP or WebSockets (``overWebSocket``, path ``ws_path``), MQTT 3.1.1 or 5 (``protocol``), TLS with the
  given CA certificates, a client certificate/key, or no verification when ``skipCertVerify``.
* **Reconnect.** Exponential backoff with full jitter: a wait drawn uniformly from
  ``[0, min(backoff_max, backoff_base * 2**failures))``; a connection that lasted ``stable_seconds``
  resets ``failures``. After a connection that was up drops, each attempt until one succeeds draws
  from at least ``[0, reconnect_spread_seconds * 2**(failures-1))`` (capped by ``backoff_max``): a
  broker restart drops every device at once, and a window that does not depend on the fleet's size
  spreads any fleet to about 1/window of it per second (15 s: ~7 %/s; the 1 s base alone: ~30 %/s)
  while one device is back within it. More than ``storm_threshold`` connection losses within
  ``storm_window_seconds`` is a connection storm: ``stormDetected`` becomes true and every wait is drawn from the whole
  ``[0, storm_backoff_seconds)``, until a connection has stayed up for a whole window. New tag data
  never cuts a wait short (only enabling, a new setting or stopping does).
* **certRevoked.** True when the broker's TLS alert says the client certificate is revoked (OpenSSL's
  "certificate revoked" alert, seen at the handshake under TLS 1.2 or at the first read under 1.3);
  false again after a successful connection.
* **Delivery.** In id order, QoS 1, at most ``inflight_window`` unacknowledged; a PUBACK acknowledges
  its row in the outbox (deleted with the next commit). After a reconnect every unacknowledged row is
  sent again from the oldest, so order is kept for everything the subscriber sees first; what it may
  see twice is counted (``Outbox.note_sent``).
* **Profile.** On each connection, and whenever it changes (polled every ``profile_poll_seconds``), the
  capability profile is published, QoS 1 and retained, to ``Advantech/<id>/update/platform/profile``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import select
import socket
import ssl
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from . import conncfg as cc


class _Paho:
    """``paho.mqtt.client``, imported on first use: a daemon whose link was never enabled does not
    carry paho (about 1.8 MiB)."""

    def __getattr__(self, name: str):
        import paho.mqtt.client as real

        return getattr(real, name)


mqtt = _Paho()

log = logging.getLogger("portald.plugins.edgehub.link")


FD_SETSIZE = 1024  # select() takes no descriptor at or above it
IDLE_SECONDS = 1.0  # the longest the link sleeps when nothing happens (timers: keepalive, profile, SAS)


def network_io(client: mqtt.Client, timeout: float, wake: socket.socket | None = None) -> mqtt.MQTTErrorCode:
    """One round of paho's network work, as ``client.loop`` but with our own wake-up socket, poked
    only when the link sleeps (paho's costs a ``send`` per publish)."""
    sock = client.socket()
    if sock is None:
        return mqtt.MQTT_ERR_NO_CONN
    pending = getattr(sock, "pending", None)
    if pending is not None and pending():
        timeout = 0
    try:
        readable, writable = _ready(sock, wake, client.want_write(), timeout)
    except (OSError, ValueError, TypeError):
        return mqtt.MQTT_ERR_CONN_LOST
    if wake is not None and wake in readable:
        try:
            wake.recv(4096)
        except OSError:
            pass
    if sock in readable:
        rc = client.loop_read()
        if rc != mqtt.MQTT_ERR_SUCCESS:
            return rc
    if writable or client.want_write():
        rc = client.loop_write()
        if rc != mqtt.MQTT_ERR_SUCCESS:
            return rc
    return client.loop_misc()


def _ready(sock, wake, want_write: bool, timeout: float) -> tuple[list, list]:
    """The readable and writable ones of ``sock`` (and ``wake``). ``select`` (a plain syscall at timeout
    0 under gevent) while both descriptors are below FD_SETSIZE; ``poll`` beyond it, where ``select``
    raises "filedescriptor out of range" (a busy daemon, or hundreds of links in one process)."""
    socks = [sock] if wake is None else [sock, wake]
    if max(s.fileno() for s in socks) < FD_SETSIZE:
        readable, writable, _ = select.select(socks, [sock] if want_write else [], [], timeout)
        return readable, writable
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN | (select.POLLOUT if want_write and s is sock else 0))
    by_fd = {s.fileno(): s for s in socks}
    # gevent's poll only sees events while the hub runs: a timeout of 0 would never report any
    events = poller.poll(max(timeout, 0.001) * 1000)
    gone = select.POLLIN | select.POLLERR | select.POLLHUP | select.POLLNVAL  # loop_read() says what happened
    readable = [by_fd[fd] for fd, ev in events if ev & gone]
    writable = [by_fd[fd] for fd, ev in events if ev & select.POLLOUT]
    return readable, writable


class LinkError(Exception):
    """A connection attempt failed; the message is shown to operators (never a secret)."""


@dataclass
class Endpoint:
    host: str
    port: int
    client_id: str
    username: str | None = None
    password: str | None = None
    tls: ssl.SSLContext | None = None
    websocket: bool = False
    expires: float | None = None  # a SAS token's end of life (monotonic)
    azure_device: str | None = None
    topics: dict = field(default_factory=dict)


def azure_parts(connection_string: str) -> dict:
    parts = dict(item.split("=", 1) for item in connection_string.split(";") if "=" in item)
    missing = [key for key in ("HostName", "DeviceId", "SharedAccessKey") if not parts.get(key)]
    if missing:
        raise LinkError(f"connectionString lacks {', '.join(missing)}")
    return parts


def sas_token(host: str, device: str, key_b64: str, expiry: int) -> str:
    """An Azure IoT Hub SAS token for ``device`` valid until ``expiry`` (Unix time)."""
    resource = urllib.parse.quote(f"{host}/devices/{device}", safe="")
    try:
        key = base64.b64decode(key_b64, validate=True)
    except ValueError:
        raise LinkError("connectionString: SharedAccessKey is not base64") from None
    signature = base64.b64encode(hmac.new(key, f"{resource}\n{expiry}".encode(), hashlib.sha256).digest())
    return (f"SharedAccessSignature sr={resource}&sig={urllib.parse.quote(signature.decode(), safe='')}"
            f"&se={expiry}")


def dccs_credentials(url: str, iot_key: str, tls: bool, timeout: float) -> tuple[str, int, str, str]:
    """(host, port, username, password) from a DeviceOn/WISE-PaaS DCCS."""
    target = f"{url.rstrip('/')}/v1/serviceCredentials/{urllib.parse.quote(iot_key, safe='')}"
    try:
        with urllib.request.urlopen(target, timeout=timeout) as response:
            doc = json.loads(response.read(1 << 20))
        protocol = doc["credential"]["protocols"]["mqtt+ssl" if tls else "mqtt"]
        return str(doc["serviceHost"]), int(protocol["port"]), str(protocol["username"]), str(protocol["password"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # the URL holds the key: name the host only
        raise LinkError(f"DCCS {urllib.parse.urlsplit(url).netloc}: no credentials ({type(exc).__name__}: {exc})"
                        .replace(iot_key, "…")) from None


class Link:
    def __init__(self, settings, outbox, state, device_id: Callable[[], str],
                 profile: Callable[[], dict] | None = None):
        self.settings, self.outbox, self.state = settings, outbox, state
        self._device_id, self._profile = device_id, profile
        self.enabled = False
        self.connected = False
        self.cert_revoked = False
        self.storm_detected = False
        self.last_error = ""
        self.connects = 0
        self.attempts = 0
        self._failures = 0
        self._since_fetch = 0  # failed connections since the DCCS credentials were fetched
        self._dropped = False  # a connection that was up dropped, and none has come up since
        self._losses: deque[float] = deque()
        self._wake = threading.Event()  # a control change: enable, disable, new setting, stop
        self._data = threading.Event()  # the outbox committed new messages (never cuts a backoff short)
        # while connected and asleep in select(), a byte here wakes the link (sent only then: _idle)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._idle = False
        self._backlog = False
        self._stop = False
        self._dccs_cache: tuple | None = None
        self._inflight: dict[int, int] = {}  # mid -> row id
        self._acked: set[int] = set()
        self._last_sent = 0
        self._profile_digest = ""
        self._profile_checked = 0.0
        self._thread: threading.Thread | None = None
        self._restart = False  # end the connection so that the next one uses the new setting

    # -- control -------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="edgehub-link", daemon=True)
            self._thread.start()

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self._failures = 0
        self._dropped = False
        self._dccs_cache = None
        self._wake.set()
        self._poke()
        self.start()

    def reconfigure(self) -> None:
        """The stored setting changed: drop the connection so the next one uses it."""
        self._dccs_cache = None
        self._failures = 0
        self._restart = True
        self._wake.set()
        self._poke()

    def data_arrived(self) -> None:
        self._data.set()
        self._poke()

    def _poke(self) -> None:
        if self._idle:
            try:
                self._wake_w.send(b"\0")
            except OSError:  # full: a wake-up is pending anyway
                pass

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        self._poke()
        if self._thread is not None:
            self._thread.join(10)
        self._wake_r.close()
        self._wake_w.close()

    def status(self) -> dict:
        return {"enabled": self.enabled, "status": "connected" if self.connected else "disconnected",
                "certRevoked": self.cert_revoked, "stormDetected": self.storm_detected}

    # -- the thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop:
            if not self.enabled:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            # a change before this attempt is seen by it (the session reads the flags); left set, the
            # enabling's wake-up would cut the first backoff after the first lost connection to nothing
            self._wake.clear()
            up_since = None
            try:
                up_since = self._session()
            except LinkError as exc:
                self._note_error(str(exc))
            except Exception as exc:  # anything paho or ssl raises: logged, retried, never the thread's end
                self._note_error(f"{type(exc).__name__}: {exc}")
            finally:
                self.connected = False
            if self._stop:
                break
            if up_since is not None:
                self._note_loss(up_since)
                if self._restart or not self.enabled:
                    self._restart = False
                    continue
                if time.monotonic() - up_since >= self.settings.stable_seconds:
                    self._failures = 0
            self._failures += 1
            self._since_fetch += 1
            self._dropped = self._dropped or up_since is not None
            self._wait(self._backoff(lost=self._dropped))

    def _note_error(self, message: str) -> None:
        if "revoked" in message.lower():
            self.cert_revoked = True
        if message != self.last_error:
            log.warning("EdgeHub link: %s", message)
        self.last_error = message

    def _note_loss(self, up_since: float) -> None:
        now = time.monotonic()
        window = self.settings.storm_window_seconds
        self._losses.append(now)
        while self._losses and self._losses[0] < now - window:
            self._losses.popleft()
        if len(self._losses) > self.settings.storm_threshold and not self.storm_detected:
            log.warning("EdgeHub link: %d connection losses within %g s: connection storm, backing off",
                        len(self._losses), window)
            self.storm_detected = True

    def _backoff(self, lost: bool = False) -> float:
        """The wait before the next attempt; ``lost``: a connection was up and dropped, and none came up
        since (a broker restart drops the whole fleet at once: each attempt until it is back is spread
        over a fixed window, not only the first, or the ones refused early bunch up again)."""
        if self.storm_detected:
            return random.uniform(0, self.settings.storm_backoff_seconds)
        settings = self.settings
        ceiling = settings.backoff_base_seconds * 2 ** min(self._failures, 30)
        if lost:  # the window doubles too: attempts refused during a longer outage must not bunch up
            ceiling = max(ceiling, settings.reconnect_spread_seconds * 2 ** min(max(self._failures - 1, 0), 30))
        return random.uniform(0, min(settings.backoff_max_seconds, ceiling))

    def _wait(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    # -- one connection ------------------------------------------------------------------------------
    def _session(self) -> float | None:
        """Connect, deliver until the link drops or is switched off; the monotonic time the connection
        came up, or None when it never did."""
        self._restart = False
        self.attempts += 1
        endpoint = self._endpoint()
        client, flags = self._client(endpoint)
        try:
            if endpoint.websocket:
                client.ws_set_options(path=self.settings.ws_path)
            client.connect(endpoint.host, endpoint.port, keepalive=self.settings.keepalive_seconds)
        except OSError as exc:
            raise LinkError(f"cannot connect to {endpoint.host}:{endpoint.port}: {exc}") from None
        deadline = time.monotonic() + self.settings.connect_timeout_seconds
        while flags["connack"] is None:
            rc = network_io(client, 0.1)
            if rc != mqtt.MQTT_ERR_SUCCESS and flags["connack"] is None:
                raise LinkError(flags["error"] or f"{endpoint.host}:{endpoint.port}: {mqtt.error_string(rc)}")
            if time.monotonic() > deadline:
                client.disconnect()
                raise LinkError(f"{endpoint.host}:{endpoint.port}: no CONNACK within "
                                f"{self.settings.connect_timeout_seconds:g} s")
        if flags["connack"].is_failure:
            client.disconnect()
            raise LinkError(f"{endpoint.host}:{endpoint.port} refused the connection: {flags['connack']}")
        up_since = time.monotonic()
        self.connected, self.cert_revoked, self.last_error = True, False, ""
        self.connects += 1
        self._dropped = False
        self._since_fetch = 0
        log.info("EdgeHub link: connected to %s:%d as %s", endpoint.host, endpoint.port, endpoint.client_id)
        self._inflight.clear()
        self._last_sent = 0
        self._backlog = True  # whatever the outbox holds goes out first
        self._profile_digest = ""
        renew_at = None
        if endpoint.expires is not None:
            renew_at = up_since + (endpoint.expires - up_since) * self.settings.sas_renew_fraction
        try:
            while not self._stop and self.enabled and not self._restart:
                self._publish_profile(client, endpoint)
                self._pump(client, endpoint)
                self._idle = True  # before looking at _data: a commit after this look pokes the socket
                room = len(self._inflight) < self.settings.inflight_window
                busy = ((self._data.is_set() or self._backlog) and room) or self._restart or self._stop \
                    or not self.enabled
                rc = network_io(client, 0 if busy else IDLE_SECONDS, self._wake_r)
                self._idle = False
                if rc != mqtt.MQTT_ERR_SUCCESS or flags["lost"]:
                    self._note_error(flags["error"] or f"connection lost: {mqtt.error_string(rc)}")
                    return up_since
                if self.storm_detected and time.monotonic() - up_since > self.settings.storm_window_seconds:
                    self.storm_detected = False
                    self._losses.clear()
                if renew_at is not None and time.monotonic() >= renew_at:
                    log.info("EdgeHub link: renewing the SAS token")
                    self._restart = True
            client.disconnect()
            network_io(client, 0.1)
        finally:
            self.connected = False
        return up_since

    def _pump(self, client, endpoint: Endpoint) -> None:
        """Send what the outbox has beyond the last row sent, as far as the window allows; nothing to do
        (no new commit, no backlog left) costs no outbox read."""
        if not (self._data.is_set() or self._backlog):
            return
        room = self.settings.inflight_window - len(self._inflight)
        if room <= 0:
            return
        self._data.clear()
        rows = self.outbox.pending(self._last_sent, room)
        self._backlog = len(rows) == room
        for row_id, topic, payload in rows:
            self._last_sent = row_id
            if row_id in self._acked:
                continue
            info = client.publish(endpoint.topics.get("data", topic), payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                self._last_sent = row_id - 1
                return
            self._inflight[info.mid] = row_id
            self.outbox.note_sent(row_id)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        row_id = self._inflight.pop(mid, None)
        if row_id is None:
            return
        if getattr(reason_code, "is_failure", False):
            log.warning("EdgeHub link: the broker refused tag message %d: %s", row_id, reason_code)
            self.outbox.count("rejected")
        self._acked.add(row_id)
        self.outbox.ack([row_id])
        if len(self._acked) > 4 * self.settings.inflight_window:
            floor = min(self._inflight.values(), default=self._last_sent)
            self._acked = {i for i in self._acked if i >= floor}

    def _publish_profile(self, client, endpoint: Endpoint) -> None:
        if self._profile is None:
            return
        now = time.monotonic()
        if self._profile_digest and now - self._profile_checked < self.settings.profile_poll_seconds:
            return
        self._profile_checked = now
        try:
            body = json.dumps(self._profile(), sort_keys=True).encode()
        except Exception as exc:
            log.warning("EdgeHub link: cannot build the profile: %s", exc)
            return
        digest = hashlib.sha256(body).hexdigest()
        if digest != self._profile_digest:
            client.publish(endpoint.topics["profile"], body, qos=1, retain=endpoint.azure_device is None)
            self._profile_digest = digest

    # -- building the client -------------------------------------------------------------------------
    def _client(self, endpoint: Endpoint):
        version = mqtt.MQTTv5 if self.settings.protocol == "5" else mqtt.MQTTv311
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=endpoint.client_id, protocol=version,
                             transport="websockets" if endpoint.websocket else "tcp",
                             clean_session=True if version == mqtt.MQTTv311 else None)
        # unlimited in paho: our window limits; paho's own limit costs a scan of every message per PUBACK
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)
        if endpoint.username is not None:
            client.username_pw_set(endpoint.username, endpoint.password)
        if endpoint.tls is not None:
            client.tls_set_context(endpoint.tls)
            if endpoint.tls.verify_mode == ssl.CERT_NONE:
                client.tls_insecure_set(True)
        flags = {"connack": None, "lost": False, "error": ""}

        def on_connect(_c, _u, _flags, reason_code, _props):
            flags["connack"] = reason_code

        def on_disconnect(_c, _u, _flags, reason_code, _props):
            flags["lost"] = True

        def on_log(_c, _u, level, message):
            if level == mqtt.MQTT_LOG_ERR:
                flags["error"] = message

        client.on_connect, client.on_disconnect, client.on_log = on_connect, on_disconnect, on_log
        client.on_publish = self._on_publish
        return client, flags

    def _endpoint(self) -> Endpoint:
        stored = cc.load(self.state)
        if stored is None:
            raise LinkError("no connection setting")
        try:
            cfg = cc.effective(stored)
        except cc.InvalidConnCfg as exc:
            raise LinkError(str(exc)) from None
        device = self._device_id()
        topics = {"profile": self.settings.profile_topic.format(id=device),
                  "data": self.settings.data_topic.format(id=device)}
        tls_wanted = bool(cfg.enableTLS)
        if cfg.connectionString:
            parts = azure_parts(cfg.connectionString)
            host, dev = parts["HostName"], parts["DeviceId"]
            lifetime = self.settings.sas_ttl_seconds
            token = sas_token(host, dev, parts["SharedAccessKey"], int(time.time() + lifetime))
            topic = f"devices/{dev}/messages/events/"
            return Endpoint(cfg.mqttHost or host, cfg.mqttPort or 8883, dev,
                            f"{host}/{dev}/?api-version=2021-04-12", token, self._tls(cfg),
                            bool(cfg.overWebSocket), time.monotonic() + lifetime, dev,
                            {"profile": topic + "kind=profile", "data": topic + "kind=data"})
        if cfg.deviceon is not None and cfg.deviceon.dccsUrl and cfg.deviceon.iotKey:
            if self._dccs_cache is None or self._since_fetch >= self.settings.dccs_refetch_after_failures:
                self._since_fetch = 0
                self._dccs_cache = dccs_credentials(cfg.deviceon.dccsUrl, cfg.deviceon.iotKey, tls_wanted,
                                                    self.settings.connect_timeout_seconds)
            host, port, username, password = self._dccs_cache
            return Endpoint(host, port, cfg.uuid or device, username, password,
                            self._tls(cfg) if tls_wanted else None, bool(cfg.overWebSocket), topics=topics)
        if not cfg.mqttHost:
            raise LinkError("the connection setting names no broker (mqttHost, connectionString or deviceon)")
        port = cfg.mqttPort or (8883 if tls_wanted else 1883)
        return Endpoint(cfg.mqttHost, port, cfg.uuid or device, cfg.username or None, cfg.password,
                        self._tls(cfg) if tls_wanted else None, bool(cfg.overWebSocket), topics=topics)

    def _tls(self, cfg) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        try:
            for pem in cfg.caCerts or []:
                context.load_verify_locations(cadata=cc.pem_text(pem))
            cert, key = (cfg.mqttCert, cfg.mqttKey) if cfg.mqttCert else (cfg.iothubCert, cfg.iothubKey)
            if cert:
                self._load_client_pair(context, cc.pem_text(cert), cc.pem_text(key) if key else None)
        except cc.InvalidConnCfg as exc:
            raise LinkError(str(exc)) from None
        except ssl.SSLError as exc:
            raise LinkError(f"the certificates of the connection setting do not load: {exc.reason or exc}") from None
        if cfg.skipCertVerify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _load_client_pair(self, context: ssl.SSLContext, cert: str, key: str | None) -> None:
        """``load_cert_chain`` only reads files: a private 0600 file in the state folder, removed at once."""
        folder = self.state.ensure()
        with tempfile.NamedTemporaryFile("w", dir=folder, prefix=".client-", suffix=".pem") as handle:
            handle.write(cert if key is None else f"{key}\n{cert}")
            handle.flush()
            context.load_cert_chain(handle.name)
