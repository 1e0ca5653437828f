"""Hardware watchdog (``/platform/api/perif/wdt``): show it, arm it with a timeout, disarm it; while it
is armed the daemon pets it, so a hung daemon or machine gets the board reset.

The board's ``wdt`` driver (``interface.WdtDriver``) talks to the hardware; on Linux the
``watchdogN`` device (which one: ``[plugins.linux.wdt] device``). The watchdog's life in the daemon
(applying changes, remembering them, petting, start and stop) is ``control``.

Settings ``[plugins.wdt]``:
  ``restore_on_start``   (default true) at start, re-arm the watchdog with the saved timeout when it
                         was enabled before the stop; a saved timeout is re-applied either way.
  ``disarm_on_shutdown`` (default true) a clean stop disarms it, so stopping or upgrading portald does
                         not reset the board; the state stays "enabled", so the next start re-arms it.
                         A crash, a kill -9 or a hang never runs the shutdown and leaves it armed: the
                         board resets unless portald comes back within the timeout (which is what an
                         operator enabling a watchdog wants). Set it to false to keep it armed across
                         clean stops too (then a stop longer than the timeout resets).

Profile: ``perif:wdt`` 1/0 and ``perif:wdt:{enabled,timeoutInSeconds,timeoutMaxInSeconds,
timeoutMinInSeconds,type}``. The spec's examples name the sim's type "EC Watchdog" in ``GET`` but "EC"
in the profile; we follow both: the profile's type is the driver's with a trailing " Watchdog" removed.
``GET /metrics``: the watchdog's state (``prometheus``).
"""
from portald.capability import Capability
from portald.settings import Settings as _Settings

from . import prometheus, routes
from .control import WatchdogControl
from .interface import WdtDriver


class Settings(_Settings):
    restore_on_start: bool = True
    disarm_on_shutdown: bool = True


def control(ctx) -> WatchdogControl | None:
    """The watchdog of this daemon run, or None when no driver probed true."""
    driver = ctx.driver("wdt")
    if driver is None:
        return None
    return ctx.memo("control", lambda: WatchdogControl(driver, ctx.state, CAPABILITY.settings(ctx), ctx.log))


def profile_type(kind: str) -> str:
    return kind[:-len(" Watchdog")] if kind.endswith(" Watchdog") else kind


def profile(ctx, driver) -> dict:
    if driver is None:
        return {"perif:wdt": 0}
    try:
        info = driver.info()
    except OSError:
        return {"perif:wdt": 1}
    return {
        "perif:wdt": 1,
        "perif:wdt:enabled": bool(info["enabled"]),
        "perif:wdt:timeoutInSeconds": int(info["timeout"]),
        "perif:wdt:timeoutMaxInSeconds": int(info["max"]),
        "perif:wdt:timeoutMinInSeconds": int(info["min"]),
        "perif:wdt:type": profile_type(info["type"]),
    }


def startup(ctx) -> None:
    """Re-arm (or re-apply the timeout) as it was before the last stop, and start petting."""
    watchdog = control(ctx)
    if watchdog is not None:
        watchdog.restore()


def shutdown(ctx) -> None:
    """Stop petting; disarm unless ``disarm_on_shutdown`` is false."""
    watchdog = control(ctx)
    if watchdog is not None:
        watchdog.shutdown()


CAPABILITY = Capability(
    "wdt", WdtDriver, settings=Settings,
    absent="no watchdog driver found a device",
    blueprints=lambda ctx: routes.blueprint(lambda: control(ctx)),
    profile=profile,
    startup=startup,
    shutdown=shutdown,
    metrics=lambda ctx, driver: prometheus.families(driver),
)
CAPABILITY.export(globals())
