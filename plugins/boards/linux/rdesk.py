"""The ``rdesk`` driver of the generic Linux board: Debian's x11vnc (``portald.x11vnc``) serving the
configured X display, started when a session is asked for and stopped after the last one.

``probe()`` asks X nothing, like the ``display`` driver (X often starts after the daemon): it is true
when a display is configured and x11vnc is installed. A display that does not answer is found when a
session is asked for: x11vnc cannot open it and exits, and the client gets its reason (422).

``[plugins.linux.rdesk]``: ``display`` (default: the daemon's ``$DISPLAY``, else ``:0``), ``x11vnc``
(the program, default ``x11vnc`` on ``$PATH``), ``auth`` (x11vnc's ``-auth``: the X server's
Xauthority file, or ``guess``; default none), ``options`` (more x11vnc options, e.g.
``["-noxdamage"]``), ``start_timeout_seconds`` (default 10).
"""
from __future__ import annotations

import os

from pydantic import Field

from portald.settings import Settings as _Settings
from portald.x11vnc import X11Vnc

CAPABILITY = "rdesk"


class Settings(_Settings):
    """``[plugins.linux.rdesk]``: see the module docstring."""

    display: str = Field(default_factory=lambda: os.environ.get("DISPLAY") or ":0")
    x11vnc: str = Field("x11vnc", min_length=1)
    auth: str = ""
    options: list[str] = []
    start_timeout_seconds: float = Field(10.0, gt=0, le=120)


def create_driver(ctx, settings: Settings):
    return X11Vnc(settings.display, settings.x11vnc, settings.auth, settings.options,
                  settings.start_timeout_seconds, name="linux.rdesk")
