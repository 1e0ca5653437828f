"""Display brightness (``/platform/api/perif/brightness``): one value between a minimum and a maximum.

The board's ``brightness`` driver (``interface.BrightnessDriver``) talks to the hardware; on Linux the
backlight class, configured in ``[plugins.linux.brightness]`` (which backlight, and the panel's lowest
usable value). With no driver the endpoints answer 404 and the profile says ``"perif:brightness": 0``
(1 when there is a driver).
"""
from portald.capability import Capability

from . import routes
from .interface import BrightnessDriver

CAPABILITY = Capability(
    "brightness", BrightnessDriver,
    absent="no brightness driver found a backlight",
    blueprints=routes.blueprint,
    profile=lambda ctx, driver: {"perif:brightness": 1 if driver is not None else 0},
)
CAPABILITY.export(globals())
