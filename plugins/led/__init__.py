"""LEDs (``/platform/api/perif/led*``): on/off LEDs addressed by a 0-based index.

The board's ``led`` driver (``interface.LedDriver``) talks to the hardware; on Linux the LED class,
which LEDs and in what order set in ``[plugins.linux.led] names``. With none, the endpoints answer 404
and the profile says ``"perif:led": 0`` (otherwise the number of LEDs).
"""
from portald.capability import Capability

from . import routes
from .interface import LedDriver

CAPABILITY = Capability(
    "led", LedDriver,
    absent="no LED driver found LEDs",
    blueprints=routes.blueprint,
    profile=lambda ctx, driver: {"perif:led": driver.count() if driver is not None else 0},
)
CAPABILITY.export(globals())
