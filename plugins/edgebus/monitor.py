"""The daemon's own MQTT connection to the EdgeBus broker: subscribed to Mosquitto's ``$SYS/#`` tree,
keeping the latest value of every topic, and the spec's ``mqttBrokerStatus`` built from them.

paho-mqtt's network loop runs in its own thread (``loop_start``); in the daemon gevent has patched
``threading``, ``socket`` and ``select``, so that "thread" is a greenlet and waits cooperatively. It
reconnects by itself (0.25 s doubling to 4 s) after the broker restarts, and forgets the previous
broker's figures when the connection drops (Mosquitto publishes ``$SYS`` retained, so a new subscription
gets the current values at once and again every ``sys_interval`` seconds).

Where the spec's fields (they are those of another broker) come from:

=====================  ======================================================================
version                ``$SYS/broker/version`` ("mosquitto version 2.0.11" → "2.0.11")
uptime                 ``$SYS/broker/uptime``
time                   the daemon's clock when answering (Unix seconds)
started                ``time - uptime`` (before the first figures: the process's start time)
bytes_received/sent    ``$SYS/broker/bytes/received`` / ``sent``
clients_*              ``$SYS/broker/clients/connected``, ``disconnected``, ``maximum``, ``total``
messages_received/sent ``$SYS/broker/publish/messages/received`` / ``sent`` (PUBLISH packets)
packets_received/sent  ``$SYS/broker/messages/received`` / ``sent`` (Mosquitto counts every packet there)
retained               ``$SYS/broker/retained messages/count`` (includes the ``$SYS`` topics)
inflight               ``$SYS/broker/store/messages/count`` minus ``retained``: messages the broker
                       holds that are not retained, i.e. queued or in flight (an approximation:
                       Mosquitto publishes no in-flight count)
inflight_dropped       ``$SYS/broker/publish/messages/dropped`` (dropped for full queues/inflight)
subscriptions          ``$SYS/broker/subscriptions/count``
memory_alloc           ``$SYS/broker/heap/current`` (Debian builds with memory tracking); when absent,
                       the broker process's resident set size (psutil)
threads                the broker process's thread count (psutil); Mosquitto publishes none
=====================  ======================================================================

A figure not received yet is 0 (``version`` ""); negative counters (Mosquitto reports
``clients/disconnected`` as -1 just after start) are clamped to 0.
"""
from __future__ import annotations

import logging
import os
import time

import psutil

SYS = "$SYS/broker/"
COUNTERS = {
    "bytes_received": "bytes/received", "bytes_sent": "bytes/sent",
    "clients_connected": "clients/connected", "clients_disconnected": "clients/disconnected",
    "clients_maximum": "clients/maximum", "clients_total": "clients/total",
    "messages_received": "publish/messages/received", "messages_sent": "publish/messages/sent",
    "retained": "retained messages/count", "inflight_dropped": "publish/messages/dropped",
    "subscriptions": "subscriptions/count",
    "packets_received": "messages/received", "packets_sent": "messages/sent",
}
FIELDS = ("version", "started", "time", "uptime", "bytes_received", "bytes_sent", "clients_connected",
          "clients_disconnected", "clients_maximum", "clients_total", "messages_received", "messages_sent",
          "retained", "inflight", "inflight_dropped", "subscriptions", "packets_received", "packets_sent",
          "memory_alloc", "threads")


def _number(text: str | None) -> int:
    if not text:
        return 0
    try:
        return max(0, int(float(text.split()[0])))
    except (ValueError, IndexError):
        return 0


def empty_status() -> dict:
    return {field: ("" if field == "version" else 0) for field in FIELDS}


def broker_status(values: dict[str, str], pid: int | None, now: float | None = None) -> dict:
    """The spec's ``mqttBrokerStatus`` from the ``$SYS`` values (topic without ``$SYS/broker/``) and
    the broker's pid (for the fallbacks); every field present, see the module docstring."""
    now = time.time() if now is None else now
    status = empty_status()
    status["time"] = int(now)
    status["version"] = (values.get("version") or "").split()[-1] if values.get("version") else ""
    for field, topic in COUNTERS.items():
        status[field] = _number(values.get(topic))
    status["uptime"] = _number(values.get("uptime"))
    status["inflight"] = max(0, _number(values.get("store/messages/count")) - status["retained"])
    process = _process(pid)
    status["memory_alloc"] = _number(values.get("heap/current"))
    if process is not None:
        try:
            with process.oneshot():
                if not status["memory_alloc"]:
                    status["memory_alloc"] = process.memory_info().rss
                status["threads"] = process.num_threads()
                created = int(process.create_time())
        except psutil.Error:
            created = 0
    else:
        created = 0
    status["started"] = int(now) - status["uptime"] if status["uptime"] else created
    return status


def _process(pid: int | None):
    if not pid:
        return None
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


class SysMonitor:
    """One paho client on the broker: ``start()``, ``stop()``, ``connected``, ``values()``."""

    def __init__(self, host: str, port: int, username: str, password: str, log: logging.Logger):
        self.host, self.port, self.log = host, port, log
        self._values: dict[str, str] = {}
        self.connected = False
        import paho.mqtt.client as mqtt  # loaded when the broker is enabled, not with every daemon

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"portald-edgebus-{os.getpid()}",
                             protocol=mqtt.MQTTv311, clean_session=True)
        client.username_pw_set(username, password)
        client.reconnect_delay_set(min_delay=0.25, max_delay=4)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client

    def start(self) -> None:
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self.connected = False

    def values(self) -> dict[str, str]:
        return dict(self._values)

    # paho's callbacks (its loop thread) ------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason, properties):
        if reason.is_failure:
            self.log.warning("the daemon's EdgeBus client was refused: %s", reason)
            return
        self._values = {}
        client.subscribe(SYS + "#", qos=0)
        self.connected = True
        self.log.debug("the daemon's EdgeBus client is connected to %s:%d", self.host, self.port)

    def _on_disconnect(self, client, userdata, flags, reason, properties):
        if self.connected:
            self.log.info("the daemon's EdgeBus client lost the broker (%s); reconnecting", reason)
        self.connected = False
        self._values = {}  # a dead broker's figures are not shown as current

    def _on_message(self, client, userdata, message):
        if message.topic.startswith(SYS):
            self._values[message.topic[len(SYS):]] = message.payload.decode("utf-8", "replace")
