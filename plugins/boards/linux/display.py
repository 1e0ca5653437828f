"""The ``display`` driver of the generic Linux board: the RandR monitors of an X display, through mss.

A display is a RandR monitor of the configured X display (``:0``): one X screen spread over several
monitors is how multi-head machines run X today, and it is what ``xrandr --listmonitors`` numbers.
Index 0 is the first monitor X lists, which is the primary one when one is marked primary. An X server
without RandR has one display, its whole root window.

Xlib/XCB calls block the calling thread and wait forever on a wedged X server, so the driver is
``blocking``: the core runs each call in its threadpool and gives up after ``timeout_seconds``; a
thread stuck in a dead server is abandoned, not waited for. ``probe()`` asks X nothing (X often starts
after the daemon): it is true when a display is configured.
"""
from __future__ import annotations

import logging
import os

import mss
import mss.tools
from mss.exception import ScreenShotError
from pydantic import Field

from portald.drivers import DriverError, NotFound
from portald.settings import Settings as _Settings

log = logging.getLogger("portald.boards.linux.display")

CAPABILITY = "display"


class Settings(_Settings):
    """``[plugins.linux.display]``."""

    # the X display to count and capture; "": none. Default: the daemon's $DISPLAY
    display: str = Field(default_factory=lambda: os.environ.get("DISPLAY", ""))
    timeout_seconds: float = Field(5.0, gt=0, le=60)  # limit for one X call


def _monitors(screen) -> list[dict]:
    # mss lists the whole root window first, then each RandR monitor.
    found = screen.monitors
    return found[1:] or found[:1]


class X11Display:
    name = "linux.display"
    blocking = True

    def __init__(self, display: str, timeout_seconds: float):
        self.display, self.timeout_seconds = display, timeout_seconds
        self.absent_reason = "" if display else "no X display configured ($DISPLAY or [plugins.linux.display])"

    def probe(self) -> bool:
        return bool(self.display)

    def count(self) -> int:
        try:
            with mss.MSS(display=self.display) as screen:
                return len(_monitors(screen))
        except ScreenShotError as exc:  # no X there is absence, not failure
            log.debug("display %s not reachable: %s", self.display, exc)
            return 0

    def screenshot(self, index: int) -> bytes:
        try:
            with mss.MSS(display=self.display) as screen:
                monitors = _monitors(screen)
                if index >= len(monitors):
                    raise NotFound(f"no display with index {index}: {len(monitors)} display(s) found")
                shot = screen.grab(monitors[index])
                return mss.tools.to_png(shot.rgb, shot.size)
        except ScreenShotError as exc:
            log.info("screenshot of display %s failed: %s", self.display, exc)
            raise DriverError(f"cannot capture display {self.display}: {exc}") from None


def create_driver(ctx, settings: Settings):
    return X11Display(settings.display, settings.timeout_seconds)
