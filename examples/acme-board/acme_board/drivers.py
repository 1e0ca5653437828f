"""The ``gpio`` and ``led`` drivers portald calls for the ACME EDGE-200, and the board they share.

Owns the mapping from portald's driver interfaces (the Protocols ``GpioDriver`` in portald's
``plugins/gpio/interface.py`` and ``LedDriver`` in ``plugins/led/interface.py``; nothing is imported
from portald: a driver only has to have their methods) to the MCU's commands, and identifying the MCU
once per daemon run. Every failure reaches portald as ``OSError``, which its GPIO and LED routes answer
422 in their area's shape.

Both drivers set ``blocking = True``: opening and configuring a tty (``tcsetattr``, modem-line ioctls),
flushing (``tcflush``) and closing it (the kernel may wait up to the port's ``closing_wait``, 30 s by
default, for unsent output) are plain C calls gevent cannot make cooperative, and a USB-serial adapter
that hangs in one would stop the whole daemon, logins included. portald therefore runs every call of
these drivers in its threadpool, bounded by ``timeout_seconds``; the link's own lock keeps the
exchanges of the two drivers one at a time.
"""
from __future__ import annotations

import logging

from .protocol import Info, McuLink

log = logging.getLogger(__name__)


def call_timeout(link: McuLink) -> float:
    """How long portald lets one driver call take: an exchange is at most about three reply timeouts
    (reply, resync, second reply), and it may first wait for the other driver's exchange."""
    return 6 * link.timeout + 1


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
    blocking = True  # see the module docstring

    def __init__(self, board: Board):
        self._board = board
        self.timeout_seconds = call_timeout(board.link)

    def close(self) -> None:
        """At the daemon's stop: close the shared port (the other driver's close finds it closed)."""
        self._board.close()

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
    blocking = True  # see the module docstring

    def __init__(self, board: Board):
        self._board = board
        self.timeout_seconds = call_timeout(board.link)

    def close(self) -> None:
        """At the daemon's stop: close the shared port (the other driver's close finds it closed)."""
        self._board.close()

    def probe(self) -> bool:
        info = self._board.identify()
        return info is not None and info.led_count > 0

    def count(self) -> int:
        return self._board.info.led_count

    def get(self, index: int) -> bool:
        return self._board.link.led_get(index)

    def set(self, index: int, on: bool) -> None:
        self._board.link.led_set(index, on)
