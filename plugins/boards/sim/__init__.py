"""The virtual board used by ``portald run --sim`` (or ``board = "sim"``): a complete, stateful board so
the daemon runs with every capability on any machine. Its drivers are offered only in sim mode and then
ahead of every other board's; on a real device nothing here is ever used.

One module per capability (``CAPABILITY`` + ``create_driver(ctx)``), collected by
``portald.board.collect_drivers``; state that must survive a restart lives in ``ctx.state``.
"""
from portald.board import collect_drivers
from portald.hookspecs import hookimpl


@hookimpl(tryfirst=True)
def portald_drivers(ctx):
    if not ctx.sim:
        ctx.set_absent('board is not "sim" (use --sim)')
        return {}
    return collect_drivers(__name__, ctx)
