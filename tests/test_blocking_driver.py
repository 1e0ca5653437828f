"""Drivers marked ``blocking`` run in the threadpool with a timeout (portald.drivers.BlockingDriver):
a wedged bus costs one request a 422, never the daemon."""
from __future__ import annotations

import time

import gevent

from conftest import admin_token, bearer, write_dropin

WEDGED_LEDS = '''
import time, threading
from portald.hookspecs import hookimpl

CALLS = []

class WedgedLeds:
    name = "wedged.led"
    blocking = True
    def probe(self):
        return True
    def count(self):
        return 2
    def get(self, index):
        CALLS.append(threading.get_ident())
        time.sleep(1.5)
        return True
    def set(self, index, on):
        pass

@hookimpl(tryfirst=True)
def portald_drivers(ctx):
    return {"led": WedgedLeds()}
'''


def test_wedged_driver_call_is_a_422_and_the_daemon_keeps_serving(make_app, tmp_path):
    write_dropin(tmp_path, "wedged", WEDGED_LEDS)
    client = make_app(driver_timeout_seconds=0.3).test_client()
    headers = bearer(admin_token(client))
    slow = gevent.spawn(client.get, "/platform/api/perif/led/0", headers=headers)
    gevent.sleep(0.05)
    start = time.monotonic()
    assert client.get("/platform/api/ping").data == b"pong"
    assert time.monotonic() - start < 0.25  # served while the LED read is stuck
    timed_out = slow.get(timeout=5)
    assert timed_out.status_code == 422 and "did not answer" in timed_out.get_json()["errors"]["LED"]
    busy = client.get("/platform/api/perif/led/1", headers=headers)  # the stuck call has not returned
    assert busy.status_code == 422 and "still not answering" in busy.get_json()["errors"]["LED"]
    import portald_dropin_wedged as wedged

    assert len(wedged.CALLS) == 1  # the second request did not take another thread
    gevent.sleep(1.5)  # the stuck call has returned: the driver is tried again
    again = client.get("/platform/api/perif/led/1", headers=headers)
    assert again.status_code == 422 and "did not answer" in again.get_json()["errors"]["LED"]
    assert len(wedged.CALLS) == 2
