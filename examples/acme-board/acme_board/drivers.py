"""The ``gpio`` and ``led`` drivers portald calls for the ACME EDGE-200, and the board they share.

Owns the mapping from portald's driver interfaces (the docstrings of portald's ``gpio`` and ``led``
plugins) to the MCU's commands, and identifying the MCU once per daemon run. Every failure reaches
portald as ``OSError``, which its GPIO and LED routes answer 422 in their area's shape.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import gevent

from .protocol import Info, McuLink

log = logging.getLogger(__name__)


def in_threadpool(function: Callable, *args) -> Any:
    """Run one serial exchange in gevent's threadpool (the ``offload`` of the daemon's link).

    portald serves every request from one thread under gevent. gevent's monkey-patching makes pyserial's
    ``select`` cooperative, but not the rest of what the link does: opening the tty and configuring it
    (``tcsetattr``, modem-line ioctls), flushing its queues (``tcflush``) and closing it (the kernel may
    wait up to the port's ``closing_wait``, 30 s by default, for unsent output) are plain C calls, and a
    USB-serial adapter that hangs in one of them would stop the whole daemon, logins included. In a pool
    thread they block only that thread while the hub keeps serving; the link's lock, taken by the calling
    greenlet before this, keeps the exchanges one at a time.
    """
    result, error = gevent.get_hub().threadpool.apply(_outcome, (function, args))
    if error is not None:
        raise error
    return result


def _outcome(function: Callable, args: tuple) -> tuple[Any, OSError | None]:
    # An exception escaping a pool thread is printed to stderr with its traceback by gevent's hub before
    # it is re-raised in the caller; a refusal by the MCU is an answer, not a crash, so hand it over.
    try:
        return function(*args), None
    except OSError as exc:
        return None, exc


class Board:
    """The MCU behind one serial port, identified by ``INFO?`` at most once per daemon run."""

    def __init__(self, link: McuLink):
        self.link = link
        self.asked = False
        self.info: Info | None = None

    def identify(self) -> Info | None:
        """The MCU's ``INFO?`` answer, or None when nothing that is an ACME EDGE-200 MCU answers.

        Absence is not failure: a port that does not exist, a silent port or another device all
        return None, logged at debug, and the next probe does not ask again."""
        if not self.asked:
            self.asked = True
            try:
                self.info = self.link.info()
            except OSError as exc:
                log.debug("no ACME MCU on %s: %s", self.link.port, exc.strerror or exc)
                self.link.close()
            else:
                log.info("ACME EDGE-200 MCU firmware %s on %s: %d GPIO pins, %d LEDs", self.info.firmware,
                         self.link.port, self.info.gpio_count, self.info.led_count)
        return self.info

    def close(self) -> None:
        self.link.close()


class AcmeGpioDriver:
    """Pins in the spec's encoding, which is the MCU's too: dir 0 output / 1 input, level 0 / 1.

    The firmware does what the interface asks of a driver: a pin switched to output starts low, its own
    direction set again changes nothing, and the level of an input is refused (``ERR 3``, EPERM)."""

    name = "acme.gpio"

    def __init__(self, board: Board):
        self._board = board

    def probe(self) -> bool:
        info = self._board.identify()
        return info is not None and info.gpio_count > 0

    def count(self) -> int:
        return self._board.info.gpio_count

    def read(self, pin: int) -> dict[str, int]:
        direction, level = self._board.link.gpio_read(pin)
        return {"dir": direction, "level": level}

    def set_dir(self, pin: int, direction: int) -> None:
        self._board.link.gpio_set_dir(pin, direction)

    def set_level(self, pin: int, level: int) -> None:
        self._board.link.gpio_set_level(pin, level)


class AcmeLedDriver:
    """On/off LEDs; the MCU answers a ``LED SET`` once the LED shows the new state."""

    name = "acme.led"

    def __init__(self, board: Board):
        self._board = board

    def probe(self) -> bool:
        info = self._board.identify()
        return info is not None and info.led_count > 0

    def count(self) -> int:
        return self._board.info.led_count

    def get(self, index: int) -> bool:
        return self._board.link.led_get(index)

    def set(self, index: int, on: bool) -> None:
        self._board.link.led_set(index, on)
