"""``portald.events.PushSource``: events that happen (an SNMP trap) reach every subscriber listening at
that moment exactly once, equal events are not merged, nothing is replayed to a later subscriber."""
from __future__ import annotations

from gevent.queue import Empty

from portald.events import QUEUE_LENGTH, EventBus, PushSource


def _drain(sub) -> list[bytes]:
    found = []
    while True:
        try:
            found.append(sub.queue.get_nowait())
        except Empty:
            return found


def test_a_pushed_event_reaches_each_listener_once_and_no_later_one():
    source = PushSource()
    assert source.publish({"n": 0}) == 0  # before the bus: gone, no error
    bus = EventBus({"snmptrap": source}, max_streams=4)
    assert source.publish({"n": 0}) == 0  # nobody listens
    first, renamed = bus.subscribe(["snmptrap"]), bus.subscribe(["snmptrap"], {"snmptrap": "message"})
    assert source.publish({"n": 1}) == 2
    assert source.publish({"n": 1}) == 2  # equal data is a second event, not a repeat to suppress
    assert _drain(first) == [b'event: snmptrap\ndata: {"n":1}\n\n'] * 2
    assert _drain(renamed) == [b'event: message\ndata: {"n":1}\n\n'] * 2
    late = bus.subscribe(["snmptrap"])
    assert _drain(late) == []  # no replay of what happened before it subscribed
    assert bus.pumps["snmptrap"].greenlet is None  # nothing polls a push source
    bus.unsubscribe(first)
    assert source.publish({"n": 2}) == 2
    assert _drain(first) == [] and len(_drain(late)) == 1


def test_a_subscriber_that_does_not_read_keeps_only_the_newest_pushed_events():
    source = PushSource()
    bus = EventBus({"snmptrap": source}, max_streams=4)
    sub = bus.subscribe(["snmptrap"])
    for n in range(QUEUE_LENGTH + 5):
        source.publish({"n": n})
    frames = _drain(sub)
    assert len(frames) == QUEUE_LENGTH and sub.dropped == 5
    assert frames[-1] == b'event: snmptrap\ndata: {"n":%d}\n\n' % (QUEUE_LENGTH + 4)
