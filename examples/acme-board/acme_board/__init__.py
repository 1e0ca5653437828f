"""portald board plugin for the ACME EDGE-200: GPIO pins and LEDs on its serial-attached MCU.

Owns the plugin's hooks and its configuration, the ``[plugins.acme]`` section:

  ``port``             the MCU's serial port, e.g. ``"/dev/ttyUSB0"`` (or a stable
                       ``/dev/serial/by-id/...`` name). No default: sending ``INFO?`` to whatever sits on
                       a guessed port could upset another device, so without it the plugin is absent.
  ``baudrate``         115200 unless the MCU's firmware was built for another rate.
  ``timeout_seconds``  how long to wait for each reply (default 1; more than 0, at most 10).

Its drivers are asked before the generic Linux ones (OEM plugins come before ``trylast`` ones), so
no ``tryfirst`` is needed; ``[drivers] gpio = ["linux.gpio"]`` in portald's config would override that.
portald closes the drivers it uses when it stops (their ``close()``, in its threadpool); the board is
closed here only when neither driver was chosen.
"""
from __future__ import annotations

from portald.hookspecs import hookimpl

from .drivers import AcmeGpioDriver, AcmeLedDriver, Board
from .protocol import McuLink

__version__ = "1.0.0"

SETTINGS = {"port", "baudrate", "timeout_seconds"}


def settings(section: dict) -> tuple[str | None, int, float]:
    """``(port, baudrate, timeout)`` from ``[plugins.acme]``; ``ValueError`` says what is wrong (portald
    then shows the plugin as failed with that reason)."""
    unknown = sorted(set(section) - SETTINGS)
    if unknown:
        raise ValueError(f"[plugins.acme] unknown setting(s): {', '.join(unknown)}")
    port = section.get("port")
    baudrate = section.get("baudrate", 115200)
    timeout = section.get("timeout_seconds", 1.0)
    if port is not None and (not isinstance(port, str) or not port):
        raise ValueError('[plugins.acme] port must be a serial port such as "/dev/ttyUSB0"')
    if type(baudrate) is not int or baudrate <= 0:
        raise ValueError("[plugins.acme] baudrate must be a positive integer such as 115200")
    if type(timeout) not in (int, float) or not 0 < timeout <= 10:
        raise ValueError("[plugins.acme] timeout_seconds must be a number above 0 and at most 10")
    return port, baudrate, float(timeout)


@hookimpl
def portald_drivers(ctx):
    port, baudrate, timeout = settings(ctx.config)
    if port is None:
        ctx.set_absent("no [plugins.acme] port configured")
        return {}
    # One board per daemon run (plugin modules are shared by every app in a process): both drivers
    # talk through its one link, so their exchanges queue on one lock.
    board = ctx.memo("board", lambda: Board(McuLink(port, baudrate, timeout)))
    return {"gpio": AcmeGpioDriver(board), "led": AcmeLedDriver(board)}


@hookimpl
def portald_startup(ctx):
    board = ctx.memo("board", lambda: None)
    if board is None:
        return
    ours = [cap for cap in ("gpio", "led") if getattr(ctx.driver(cap), "name", "").startswith("acme.")]
    if not ours:
        silent = board.asked and board.info is None
        ctx.set_absent(f"no ACME EDGE-200 MCU answered on {board.link.port}" if silent
                       else "other boards' drivers preferred ([drivers] in the config)")
        # Nothing else uses the link now (probing is over, no driver of ours serves a request), so this
        # close never waits on an exchange; a port that did not answer was closed when probed.
        board.close()
