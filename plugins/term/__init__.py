"""Web terminal (``/platform/api/term/ws``): a login shell on a real PTY over a WebSocket, in the GoTTY
protocol (``gotty``; an unmodified GoTTY web client works), for the logged-in OS account — or, for the
admin account, the OS account named by ``admin_shell_user`` (unset: refused).

Driver: the board's ``term`` driver (``interface.TermDriver``; Linux and sim: a real PTY,
``plugins/boards/linux/term.py``). Settings ``[plugins.term]``: see ``Settings`` and
``etc/portald.toml``. No profile key (the spec defines none) and no events.
"""
from typing import Any

from pydantic import Field

from portald.capability import Capability
from portald.settings import Settings as _Settings

from . import routes
from .interface import TermDriver


class Settings(_Settings):
    idle_timeout_seconds: float = Field(900.0, ge=0, le=7 * 86400)  # 0: no idle timeout
    max_terminals: int = Field(16, ge=1, le=1000)
    max_terminals_per_user: int = Field(4, ge=1, le=1000)
    admin_shell_user: str = ""
    buffer_size: int = Field(1024, ge=1, le=1 << 20)
    preferences: dict[str, Any] = Field(default_factory=dict)
    read_chunk_bytes: int = Field(65536, ge=1024, le=1 << 20)
    max_message_bytes: int = Field(262144, ge=1024, le=16 << 20)
    send_timeout_seconds: float = Field(60.0, gt=0, le=3600)


CAPABILITY = Capability(
    "term", TermDriver, settings=Settings,
    absent="no terminal driver (no pseudo-terminals on this system)",
    blueprints=lambda ctx: routes.blueprint(lambda: ctx.driver("term"), lambda: CAPABILITY.settings(ctx)),
)
CAPABILITY.export(globals())
