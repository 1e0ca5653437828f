"""Services: list the machine's services, read one's status, start / stop / restart one
(``/platform/api/service*``, profile key ``service:list``).

The work is done by the board's ``services`` driver (``interface.ServicesDriver``): on the Linux board
systemd over D-Bus (``[plugins.linux.services]``), on the sim board a stateful list. When no systemd
answers (a container without systemd as PID 1, a system bus that is down) the capability is absent:
its endpoints answer 404, the profile says ``"service:list": 0`` and ``/platform/api/plugins`` shows
the reason.
"""
from portald.capability import Capability

from . import routes
from .interface import ServicesDriver

CAPABILITY = Capability(
    "services", ServicesDriver,
    absent="no services driver",
    blueprints=lambda ctx: routes.blueprint(lambda: ctx.driver("services"), ctx.log),
    profile=lambda ctx, driver: {"service:list": 1 if driver is not None else 0},
)
CAPABILITY.export(globals())
