"""The SNMP trap receiver: one UDP socket read by one greenlet, each accepted trap published at once.

Every datagram is counted in ``counters`` under exactly one outcome:

* ``published``      a v1 or v2c trap with an accepted community, handed to the event bus;
* ``wrongCommunity`` a trap whose community is not in the configured list (compared in constant time);
* ``malformed``      anything that is not a well-formed SNMP v1/v2c message (random bytes, truncated BER);
* ``notTrap``        a well-formed message that is no trap (a get, a response, an inform, which would
                     want an answer this receiver never gives);
* ``rateLimited``    a datagram beyond ``max_traps_per_second`` (a token bucket, bursts up to one second's
                     worth), dropped before it is decoded, so a flood costs no decoding work.

Nothing a sender does stops the greenlet: a decoding failure is counted, never raised. Drops are logged
at WARNING at most once per ``LOG_EVERY`` seconds (with the counts since the last such line), so a flood
cannot fill the log; ``GET /platform/api/snmptrap/stats`` (routes.py) serves the counters. Memory stays
bounded: one datagram at a time, published synchronously
into the bus's bounded per-subscriber queues.
"""
from __future__ import annotations

import hmac
import logging
import socket as _stdlib_socket
import time
from typing import Callable

import gevent
from gevent import socket


log = logging.getLogger("portald.plugins.snmptrap")

LOG_EVERY = 60.0
MAX_DATAGRAM = 65535
OUTCOMES = ("published", "wrongCommunity", "malformed", "notTrap", "rateLimited")


class Receiver:
    def __init__(self, address: str, port: int, communities: list[str], max_per_second: float,
                 publish: Callable[[dict], int]):
        self.address, self.port = address, port
        self._communities = [c.encode() for c in communities]
        self.rate = float(max_per_second)
        self._burst = max(1.0, self.rate)
        self._tokens, self._refilled = self.rate, time.monotonic()
        self.publish = publish
        self.counters = dict.fromkeys(OUTCOMES, 0)
        self._logged: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self._last_log = float("-inf")
        self.sock: socket.socket | None = None
        self.greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        """Bind (raises ``OSError``: port taken, no privilege for 162) and start reading."""
        family = _stdlib_socket.AF_INET6 if ":" in self.address else _stdlib_socket.AF_INET
        sock = socket.socket(family, _stdlib_socket.SOCK_DGRAM)
        try:
            sock.bind((self.address, self.port))
        except OSError:
            sock.close()
            raise
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.greenlet = gevent.spawn(self._run)
        log.info("SNMP trap receiver listening on %s port %d (v1, v2c)", self.address, self.port)

    def stop(self) -> None:
        if self.greenlet is not None:
            self.greenlet.kill(block=True, timeout=2)
            self.greenlet = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _run(self) -> None:
        while True:
            try:
                datagram, peer = self.sock.recvfrom(MAX_DATAGRAM)
            except OSError as exc:  # ICMP errors reported on a UDP socket, ENOBUFS: go on reading
                log.debug("trap socket: %s", exc)
                gevent.sleep(0.01)
                continue
            self.handle(datagram, peer[0])

    def handle(self, datagram: bytes, source: str) -> str:
        """Decode and publish one datagram; returns its outcome (one of ``OUTCOMES``)."""
        outcome = self._outcome(datagram, source)
        self.counters[outcome] += 1
        if outcome != "published":
            self._log_drops()
        return outcome

    def _outcome(self, datagram: bytes, source: str) -> str:
        from . import decode  # pysnmp and pyasn1 load with the first datagram, not with the daemon

        if not self._take_token():
            return "rateLimited"
        try:
            version, community, pdu = decode.decode(datagram)
        except decode.NotATrap:
            return "notTrap"
        except decode.Malformed:
            return "malformed"
        except Exception:  # pysnmp/pyasn1 raising something else on hostile input: still only a drop
            log.debug("undecodable datagram from %s", source, exc_info=True)
            return "malformed"
        if not self._accepted(community):
            return "wrongCommunity"
        try:
            data = decode.event(source, version, community, pdu)
        except decode.Malformed:
            return "malformed"
        except Exception:
            log.debug("undecodable trap from %s", source, exc_info=True)
            return "malformed"
        self.publish(data)
        return "published"

    def _accepted(self, community: str) -> bool:
        given = community.encode("utf-8", "surrogateescape")
        found = False
        for allowed in self._communities:  # every entry compared: the time says nothing about which
            found |= hmac.compare_digest(given, allowed)
        return found

    def _take_token(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def _log_drops(self) -> None:
        now = time.monotonic()
        if now - self._last_log < LOG_EVERY:
            return
        self._last_log = now
        since = {k: self.counters[k] - self._logged[k] for k in OUTCOMES if k != "published"}
        self._logged = dict(self.counters)
        log.warning("SNMP trap datagrams dropped since the last report: %s",
                    ", ".join(f"{k} {v}" for k, v in since.items() if v))

