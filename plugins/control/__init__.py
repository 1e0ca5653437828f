"""Control (``/platform/api/control/*``): reboot, shut down, and the display's power.

The board's ``control`` driver (``interface.ControlDriver``) does the work: on Linux a configurable
command each for reboot and shutdown (``systemctl reboot`` / ``systemctl poweroff`` by default, which ask
logind over D-Bus) and the display through DPMS on the X display or the backlight's ``bl_power``
(``[plugins.linux.control]``); on the sim board everything is recorded and nothing executed. The
routes (``routes.py``) answer before the machine goes down. Settings ``[plugins.control]``:
``delay_seconds`` (1), the time between the answer and the command.
"""
from pydantic import Field

from portald.capability import Capability
from portald.settings import Settings as _Settings

from . import routes
from .interface import ControlDriver


class Settings(_Settings):
    delay_seconds: float = Field(1.0, ge=0, le=60)


def actions(ctx) -> routes.PowerActions:
    return ctx.memo("actions", lambda: routes.PowerActions(ctx, CAPABILITY.settings(ctx).delay_seconds))


CAPABILITY = Capability(
    "control", ControlDriver, settings=Settings,
    absent="no control driver",
    blueprints=lambda ctx: routes.blueprint(ctx, actions(ctx)),
    shutdown=lambda ctx: actions(ctx).cancel(),
)
CAPABILITY.export(globals())
