"""Remote desktop: VNC over WebSocket (``/platform/api/rdesk/*``).

``POST /platform/api/rdesk/config`` starts (or reuses) the board's VNC server (``interface.RdeskDriver``;
Debian's x11vnc on the configured X display for the Linux board) and answers ``{id, os, password}``;
``GET /platform/api/rdesk/<id>`` is a WebSocket relaying the RFB bytes in binary frames, as noVNC
expects. Sessions, the shared server and its lifetime: ``sessions.py``; the routes and the relay:
``routes.py``. With no driver, the POST answers 422 ``{"message": <why>}``.

Config ``[plugins.rdesk]``: ``session_seconds`` (how long an id waits for its WebSocket, default 60),
``max_sessions`` (ids not yet used plus open WebSockets, default 4), ``max_message_bytes`` (the longest
message a client may send, default 1 MiB: a clipboard text is one), ``send_timeout_seconds`` (how
long the relay waits for a client that does not read, default 60).
"""
from pydantic import Field

from portald.capability import Capability
from portald.settings import Settings as _Settings

from . import routes
from .interface import RdeskDriver
from .sessions import Desk


class Settings(_Settings):
    session_seconds: float = Field(60.0, gt=0, le=3600)
    max_sessions: int = Field(4, ge=1, le=64)
    max_message_bytes: int = Field(1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    send_timeout_seconds: float = Field(60.0, gt=0, le=3600)


def desk(ctx) -> Desk | None:
    """This daemon run's sessions, or None when no driver probed true."""
    def build():
        driver = ctx.driver("rdesk")
        if driver is None:
            return None
        settings = CAPABILITY.settings(ctx)
        return Desk(driver, settings.session_seconds, settings.max_sessions)

    return ctx.memo("desk", build)


def _shutdown(ctx) -> None:
    made = desk(ctx)
    if made is not None:
        made.close()


CAPABILITY = Capability(
    "rdesk", RdeskDriver, settings=Settings,
    absent="no remote desktop driver (x11vnc and an X display)",
    blueprints=lambda ctx: routes.blueprint(lambda: desk(ctx), lambda: ctx.absent_reason("rdesk") or CAPABILITY.absent,
                                            CAPABILITY.settings(ctx)),
    shutdown=_shutdown,
)
CAPABILITY.export(globals())
