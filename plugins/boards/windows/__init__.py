"""The Windows board: drivers for what psutil reads on Windows — processes, CPU and memory
(``systemperf``), volumes (``disk``) and services. Offered everywhere, ``trylast`` like the Linux board
(an OEM board's drivers are asked first), but each driver's ``probe()`` is true only on Windows
(``sys.platform == "win32"``): elsewhere the next candidate is chosen.

Written and unit-tested (their pure parts, with made-up psutil results) on Linux: none of it has run
on Windows. What is left out and why: network counters (the ``networking`` Protocol has no read-only
driver: its drivers must also write addresses, DHCP and route metrics, which psutil cannot), and
starting or stopping services (psutil cannot either: ``control()`` refuses).

One module per capability (``CAPABILITY`` + ``create_driver(ctx)``), collected by
``portald.board.collect_drivers``.
"""
from portald.board import collect_drivers
from portald.hookspecs import hookimpl


@hookimpl(trylast=True)
def portald_drivers(ctx):
    return collect_drivers(__name__, ctx)
