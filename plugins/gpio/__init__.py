"""General-purpose I/O pins (``/platform/api/perif/gpio/*``), addressed by a 0-based pin index.

The board's ``gpio`` driver (``interface.GpioDriver``) talks to the hardware; on Linux the GPIO
character device or sysfs, with the chip and its lines set in ``[plugins.linux.gpio]``. With none,
``/gpio/count`` says 0, the other endpoints answer 404, and the profile says ``"perif:gpio:count": 0,
"perif:gpio:all": 0`` (otherwise the pin count and 1). The driver is closed when the daemon stops.
"""
from portald.capability import Capability

from . import routes
from .interface import GpioDriver


def profile(ctx, driver) -> dict:
    if driver is None:
        return {"perif:gpio:count": 0, "perif:gpio:all": 0}
    return {"perif:gpio:count": driver.count(), "perif:gpio:all": 1}


CAPABILITY = Capability(
    "gpio", GpioDriver,
    absent="no GPIO driver found pins (see [plugins.linux.gpio] chip and lines)",
    blueprints=routes.blueprint,
    profile=profile,
)
CAPABILITY.export(globals())
