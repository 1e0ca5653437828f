"""The X11 displays behind ``/platform/api/host/display/count`` and ``/screenshot/:index``: no Flask.

A "display" is a RandR monitor of the configured X display (``:0``): one X screen spread over several
monitors is how multi-head machines run X today, and it is what ``xrandr --listmonitors`` numbers.
Index 0 is the first monitor X lists, which is the primary one when one is marked primary. An X server
without RandR has one display, its whole root window.

Xlib/XCB calls block the calling thread and wait forever on a wedged X server, so every call here runs
in gevent's threadpool under a timeout; a thread stuck in a dead server is abandoned,
not waited for (the count is sampled the same way, by the plugin's sampler).
"""
from __future__ import annotations

import logging

import gevent
import mss
import mss.tools
from mss.exception import ScreenShotError

log = logging.getLogger("portald.plugins.host")


class DisplayError(Exception):
    """The display is unreachable or has no monitor with that index (the message says which)."""


def _monitors(screen) -> list[dict]:
    # mss lists the whole root window first, then each RandR monitor.
    found = screen.monitors
    return found[1:] or found[:1]


def count_monitors(display: str) -> int:
    """Blocking. 0 when the X display cannot be reached (no X there is absence, not failure)."""
    try:
        with mss.MSS(display=display) as screen:
            return len(_monitors(screen))
    except ScreenShotError as exc:
        log.debug("display %s not reachable: %s", display, exc)
        return 0


def capture_png(display: str, index: int) -> bytes:
    """Blocking: the PNG of monitor ``index``."""
    try:
        with mss.MSS(display=display) as screen:
            monitors = _monitors(screen)
            if index >= len(monitors):
                raise DisplayError(f"no display with index {index}: {len(monitors)} display(s) found")
            shot = screen.grab(monitors[index])
            return mss.tools.to_png(shot.rgb, shot.size)
    except ScreenShotError as exc:
        log.info("screenshot of display %s failed: %s", display, exc)
        raise DisplayError(f"cannot capture display {display}: {exc}") from None


def screenshot(display: str, index: int, timeout: float) -> bytes:
    """``capture_png`` from gevent's threadpool, given up after ``timeout`` seconds."""
    if not display:
        raise DisplayError("no X display is configured")
    failed = DisplayError(f"display {display} did not answer within {timeout:g} s")
    with gevent.Timeout(timeout, failed):
        return gevent.get_hub().threadpool.apply(capture_png, (display, index))
