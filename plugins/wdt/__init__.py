"""Hardware watchdog (``/platform/api/perif/wdt``): show it, arm it with a timeout, disarm it; while it
is armed the daemon pets it, so a hung daemon or machine gets the board reset.

Driver interface (capability ``"wdt"``; errors are ``OSError`` with a readable ``strerror``):
  ``name``, ``probe() -> bool``
  ``info() -> {"type": str, "enabled": bool, "timeout": int, "min": int, "max": int}`` — never arms it
  ``armed -> bool``           True while this daemon holds it armed and so must pet it
  ``enable(seconds|None)``    arm it (None keeps the current timeout) and pet it once
  ``set_timeout(seconds)``    applied at once while armed, else kept for the next ``enable``
  ``keepalive()``             pet it (nothing when not armed)
  ``disable()``               disarm it cleanly (the Linux magic close), or raise and stay armed
  ``release()``               stop using it WITHOUT disarming: it keeps counting down

Config ``[plugins.wdt]``:
  ``restore_on_start``   (default true) at start, re-arm the watchdog with the saved timeout when it
                         was enabled before the stop; a saved timeout is re-applied either way.
  ``disarm_on_shutdown`` (default true) a clean stop (``portald_shutdown``) disarms it, so stopping or
                         upgrading portald does not reset the board; the state stays "enabled", so the
                         next start re-arms it. A crash, a kill -9 or a hang never runs this hook and
                         leaves it armed: the board resets unless portald comes back within the timeout
                         (which is what an operator enabling a watchdog wants). Set it to false to keep
                         it armed across clean stops too (then a stop longer than the timeout resets).

Profile: ``perif:wdt`` 1/0 and ``perif:wdt:{enabled,timeoutInSeconds,timeoutMaxInSeconds,
timeoutMinInSeconds,type}``. The spec's examples name the sim's type "EC Watchdog" in ``GET`` but "EC"
in the profile; we follow both: the profile's type is the driver's with a trailing " Watchdog" removed.
"""
from portald.hookspecs import hookimpl

from . import routes
from .control import Settings, WatchdogControl


def control(ctx) -> WatchdogControl | None:
    """The watchdog of this daemon run, or None when no driver probed true."""
    driver = ctx.driver("wdt")
    if driver is None:
        return None
    return ctx.memo("control", lambda: WatchdogControl(driver, ctx.state, Settings.model_validate(ctx.config),
                                                       ctx.log))


def profile_type(kind: str) -> str:
    return kind[:-len(" Watchdog")] if kind.endswith(" Watchdog") else kind


@hookimpl
def portald_startup(ctx):
    watchdog = control(ctx)
    if watchdog is None:
        Settings.model_validate(ctx.config)
        ctx.set_absent("no watchdog driver found a device")
        return
    watchdog.restore()


@hookimpl
def portald_blueprints(ctx):
    return [routes.blueprint(lambda: control(ctx))]


@hookimpl
def portald_profile(ctx):
    driver = ctx.driver("wdt")
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


@hookimpl
def portald_shutdown(ctx):
    watchdog = control(ctx)
    if watchdog is not None:
        watchdog.shutdown()
