"""The generic Linux board: drivers that read the kernel's standard interfaces (sysfs hwmon, DMI, ...)
under the configured roots. These are the fallback drivers: ``trylast`` so that an OEM board plugin's
drivers, and the sim board's, are asked first.

One module per capability (``CAPABILITY`` + ``create_driver(ctx)``), collected by
``portald.board.collect_drivers``.
"""
from portald.board import collect_drivers
from portald.hookspecs import hookimpl


@hookimpl(trylast=True)
def portald_drivers(ctx):
    return collect_drivers(__name__, ctx)
