"""Wi-Fi (``/platform/api/networking/wifi/*``): adapters with their saved profiles, scans, deleting a
profile, joining a network (an addition); profile key ``networking:wifi`` (an addition: the number of
Wi-Fi adapters).

The board's ``wifi`` driver (``interface.WifiDriver``) does the work; on Linux that is NetworkManager
over D-Bus (there is no other maintained way to keep Wi-Fi profiles on a Linux device). Changes go
through the daemon's confirmation window (``portald.change_window``), as every network change does.
"""
from __future__ import annotations

from portald.capability import Capability

from . import routes
from .interface import WifiDriver


def startup(ctx):
    driver = ctx.driver("wifi")
    if driver is not None:
        ctx.change_window.participate(routes.OWNER, driver.restore, driver.release, getattr(driver, "extend", None))


def profile(ctx, driver):
    if driver is None:
        return {"networking:wifi": 0}
    try:
        return {"networking:wifi": len(driver.interfaces())}
    except Exception:  # the profile is answered even when NetworkManager does not answer right now
        return {"networking:wifi": 0}


CAPABILITY = Capability(
    "wifi", WifiDriver,
    absent="no Wi-Fi driver found a Wi-Fi adapter",
    blueprints=routes.blueprint,
    profile=profile,
    startup=startup,
)
CAPABILITY.export(globals())
