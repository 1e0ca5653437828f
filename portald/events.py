"""The event bus behind every Server-Sent Events stream.

Plugins contribute named sources (``portald_event_sources``: ``{name: source}``, a source has
``snapshot()`` and optionally ``interval`` seconds). For each source one *pump* greenlet runs while at
least one subscriber listens: it takes a snapshot, serialises it to JSON once, and hands the same bytes
to every subscriber's bounded queue — so N subscribers cost one collection and one serialisation, and
a slow subscriber loses its oldest events instead of growing memory. A pump sends only when the data
changed; a new subscriber gets the latest payload at once. The pump stops with its last subscriber.

A stream ends promptly when its client goes away: pywsgi only notices on the next write, so the stream
also watches its socket (``portald.socket_fd`` in the WSGI environ) — an SSE client sends nothing after
its request, so any readability (EOF, TLS close_notify) means it has gone. Between events a comment
line is sent every ``heartbeat`` seconds (15 by default) to keep proxies from closing the stream.
Concurrent streams are capped (``server.max_streams``, and ``server.max_streams_per_user`` for one
account): beyond it, 503. A stream ends when its token expires or is revoked (logout, password change).

Some events happen instead of being sampled (an SNMP trap): such a source is a ``PushSource``. It has no
pump greenlet and no ``snapshot()``; its owner calls ``publish(data)`` and the bus serialises the event once
and offers it to every subscriber listening at that moment — each gets it exactly once (two equal events
are two events: nothing is compared with the last one), a later subscriber never sees it (no replay), and a
subscriber whose queue is full loses its oldest events as with polled sources.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Callable, Iterator

import gevent
from gevent.queue import Empty, Full, Queue
from flask import Response, request

from .errors import NotSupported, Unavailable
from .sampler import SampleFailed, Sampler

log = logging.getLogger("portald.events")

QUEUE_LENGTH = 16
_CLOSED = object()


def served(sampler: Sampler | None) -> Any:
    """A sampler's latest snapshot, for a response or an event: the spec's 404 "not supported or no
    available data" when there is no sampler (no hardware) or its source failed."""
    if sampler is None:
        raise NotSupported()
    try:
        return sampler.latest()
    except SampleFailed as exc:
        raise NotSupported(f"no available data: {exc}") from None


class SnapshotSource:
    """An event source made of a function giving its data — usually what the GET endpoint returns.
    ``interval`` (seconds between polls) is optional; the bus has a default."""

    def __init__(self, fetch: Callable[[], Any], interval: float | None = None):
        self.snapshot = fetch
        if interval is not None:
            self.interval = interval


class PushSource:
    """An event source whose events are pushed by its owner (``publish``), not polled: see the module
    docstring. Call ``publish`` from a greenlet of the daemon's hub, never from another OS thread."""

    push = True

    def __init__(self) -> None:
        self._deliver: Callable[[Any], int] | None = None

    def publish(self, data: Any) -> int:
        """Hand one event to the bus; returns how many subscribers it was offered to (0 before the bus
        exists or while nobody listens: the event is then gone, as a trap nobody watches)."""
        deliver = self._deliver
        return deliver(data) if deliver is not None else 0


def wants_stream() -> bool:
    """True when the request asks for Server-Sent Events instead of JSON."""
    return "text/event-stream" in request.headers.get("Accept", "")


def json_or_stream(event: str, fetch: Callable[[], Any]) -> Response:
    """The one view body of a resource the spec serves both ways: with ``Accept: text/event-stream``
    a stream of the ``event`` source's data as ``event: message`` frames (404 when that source has no
    data on this machine), else ``fetch()`` — data, sent as JSON, or a ready ``Response`` (a body
    encoded once per sample) — which raises the area's errors itself."""
    if wants_stream():
        from .app_context import core

        bus = core().host.events
        if event not in bus.pumps:
            raise NotSupported()
        return bus.response([event], {event: "message"})
    found = fetch()
    if isinstance(found, Response):
        return found
    from flask import jsonify

    return jsonify(found)


class Subscription:
    def __init__(self, bus: "EventBus", renames: dict[str, str]):
        self.bus, self.renames = bus, renames
        self.queue: Queue = Queue(QUEUE_LENGTH)
        self.dropped = 0

    def offer(self, chunk: bytes | object) -> None:
        while True:
            try:
                self.queue.put_nowait(chunk)
                return
            except Full:
                try:
                    self.queue.get_nowait()
                    self.dropped += 1
                except Empty:
                    pass

    def close(self) -> None:
        self.offer(_CLOSED)


class _Pump:
    def __init__(self, name: str, source: Any, default_interval: float):
        self.name, self.source = name, source
        self.interval = float(getattr(source, "interval", default_interval))
        self.subscribers: set[Subscription] = set()
        self.payload: bytes | None = None
        self.greenlet: gevent.Greenlet | None = None
        self.snapshots = 0

    def frame(self, sub: Subscription) -> bytes:
        event = sub.renames.get(self.name, self.name)
        return b"event: " + event.encode() + b"\ndata: " + self.payload + b"\n\n"

    def run(self) -> None:
        while self.subscribers:
            try:
                data = self.source.snapshot()
            except Exception as exc:  # a source with no data now sends nothing this round
                log.debug("event source %s: %s", self.name, exc)
            else:
                self.snapshots += 1
                payload = json.dumps(data, separators=(",", ":")).encode()
                if payload != self.payload:
                    self.payload = payload
                    frames: dict[str, bytes] = {}
                    for sub in list(self.subscribers):
                        event = sub.renames.get(self.name, self.name)
                        if event not in frames:
                            frames[event] = self.frame(sub)
                        sub.offer(frames[event])
            gevent.sleep(self.interval)


class _PushPump(_Pump):
    """The bus side of a ``PushSource``: no greenlet, each published event goes out at once."""

    def __init__(self, name: str, source: PushSource):
        super().__init__(name, source, 0.0)
        source._deliver = self.deliver

    def deliver(self, data: Any) -> int:
        self.payload = json.dumps(data, separators=(",", ":")).encode()
        frames: dict[str, bytes] = {}
        subscribers = list(self.subscribers)
        for sub in subscribers:
            event = sub.renames.get(self.name, self.name)
            if event not in frames:
                frames[event] = self.frame(sub)
            sub.offer(frames[event])
        self.payload = None  # nothing to replay to a later subscriber
        return len(subscribers)


class _Stream:
    """The body of one SSE response. Cleanup lives in ``close()``, which the WSGI server always calls —
    a generator's ``finally`` would not run for a response whose body was never started."""

    def __init__(self, bus: "EventBus", sub: Subscription, fd: int | None, user: str,
                 still_valid: Callable[[], bool]):
        self.bus, self.sub, self.fd, self.user, self.still_valid = bus, sub, fd, user, still_valid
        self.closed = False
        bus.streams += 1
        bus.per_user[user] = bus.per_user.get(user, 0) + 1
        # a bare libev watcher, not a greenlet: a blocked greenlet keeps a copy of its stack, which
        # at hundreds of streams was a third of their memory
        self.watcher = None
        if fd is not None:
            self.watcher = gevent.get_hub().loop.io(fd, 1)
            self.watcher.start(self._client_gone)

    def _client_gone(self) -> None:
        self.watcher.stop()
        self.sub.close()

    def __iter__(self) -> Iterator[bytes]:
        yield b": stream open\n\n"
        while not self.closed:
            try:
                chunk = self.sub.queue.get(timeout=self.bus.heartbeat)
            except Empty:
                chunk = b": heartbeat\n\n"
            # the token was checked when the stream opened; a logout, a password change or its
            # expiry must end the stream too (at the latest by the next heartbeat)
            if chunk is _CLOSED or not self.still_valid():
                return
            yield chunk

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher.close()
        self.bus.unsubscribe(self.sub)
        self.bus.streams -= 1
        self.bus.per_user[self.user] -= 1
        if not self.bus.per_user[self.user]:
            del self.bus.per_user[self.user]


class EventBus:
    def __init__(self, sources: dict[str, Any], max_streams: int, heartbeat: float = 15.0,
                 default_interval: float = 2.0, max_streams_per_user: int | None = None,
                 declared: set[str] | None = None):
        self.pumps = {name: _PushPump(name, source) if getattr(source, "push", False)
                      else _Pump(name, source, default_interval) for name, source in sources.items()}
        # every event a loaded plugin owns, with or without data on this machine
        self.declared = frozenset(declared if declared is not None else self.pumps)
        self.max_streams, self.heartbeat = max_streams, heartbeat
        self.max_per_user = max_streams_per_user or max_streams
        self.streams = 0
        self.per_user: dict[str, int] = {}

    @property
    def names(self) -> list[str]:
        return sorted(self.pumps)

    def subscribe(self, names: list[str], renames: dict[str, str] | None = None) -> Subscription:
        sub = Subscription(self, renames or {})
        for name in names:
            pump = self.pumps.get(name)
            if pump is None:
                continue
            pump.subscribers.add(sub)
            if isinstance(pump, _PushPump):
                continue
            if pump.payload is not None and pump.greenlet is not None and not pump.greenlet.dead:
                sub.offer(pump.frame(sub))
            if pump.greenlet is None or pump.greenlet.dead:
                pump.greenlet = gevent.spawn(pump.run)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        for pump in self.pumps.values():
            pump.subscribers.discard(sub)
            if not pump.subscribers and pump.greenlet is not None:
                pump.greenlet.kill(block=False)
                pump.greenlet = None
                # forget the last payload: the next subscriber must get the data even if it has
                # not changed meanwhile (a browser's EventSource reconnecting after a hiccup)
                pump.payload = None

    def response(self, names: list[str], renames: dict[str, str] | None = None) -> Response:
        """A ``text/event-stream`` response carrying the named sources."""
        from .app_context import core, identity

        who, auth = identity(), core().auth
        if self.streams >= self.max_streams:
            raise Unavailable("too many event streams open")
        if self.per_user.get(who.user, 0) >= self.max_per_user:
            raise Unavailable(f"{who.user} has too many event streams open")
        fd = request.environ.get("portald.socket_fd")
        stream = _Stream(self, self.subscribe(names, renames), fd, who.user,
                         lambda: auth.tokens.still_valid(who, auth.admin.generation))
        return Response(stream, mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    def shutdown(self) -> None:
        for pump in self.pumps.values():
            for sub in list(pump.subscribers):
                sub.close()
            if pump.greenlet is not None:
                pump.greenlet.kill(block=False)
