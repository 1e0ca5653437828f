"""The virtual board used by ``portald run --sim`` (or ``board = "sim"``): a complete, stateful board so
the daemon runs with every capability on any machine. Its drivers are offered only in sim mode and then
ahead of every other board's; on a real device nothing here is ever used."""
from portald.hookspecs import hookimpl

from .board import SimBoardDriver
from .hwmon import SimHwmonDriver


@hookimpl(tryfirst=True)
def portald_drivers(ctx):
    if not ctx.sim:
        ctx.set_absent('board is not "sim" (use --sim)')
        return {}
    return {"hwmon": SimHwmonDriver(), "board": SimBoardDriver()}
