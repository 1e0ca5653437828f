"""The ACME EDGE-200 microcontroller's ASCII line protocol over pyserial (see README.md).

Owns the serial port and every byte on it: opening it lazily, one request/response exchange at a
time, the timeout on every read, recognising replies, turning ``ERR`` lines into ``OSError`` and
resynchronising after garbage. It knows nothing of portald: every call blocks its caller until the
exchange is over. Under the daemon the callers are threads of gevent's threadpool (portald runs the
calls of a driver that sets ``blocking = True`` there), one per driver, so the link must be shared
safely between native threads, not only between greenlets.
"""
from __future__ import annotations

import errno
import logging
import re
import threading
import time
from dataclasses import dataclass
import serial

log = logging.getLogger(__name__)

MODEL = "ACME-EDGE-200"
# A reply longer than this is not one of ours: stop reading and call it garbage (the longest real
# reply, an ERR with its text, is well under it).
MAX_LINE = 128
# Reads wait in slices this long, so an exchange never outlives its deadline by more than one slice.
POLL_SECONDS = 0.05
# A resync drains input until the line has been quiet this long: a burst of noise, or a late reply,
# may still be arriving when the first bad line is seen.
QUIET_SECONDS = 0.05

# ERR codes the firmware sends, as the errno the drivers raise (anything else is EIO).
ERR_ERRNO = {
    1: errno.EOPNOTSUPP,  # unknown command: firmware older than this driver
    2: errno.EINVAL,      # bad argument: no such pin or LED, a value other than 0/1
    3: errno.EPERM,       # refused: the level of an input pin
    4: errno.EIO,         # hardware fault, e.g. an output's overcurrent trip
}
_ERR = re.compile(r"ERR ([0-9]{1,3}) ?([\x20-\x7e]{0,100})")
_INFO = re.compile(rf"OK {MODEL} FW ([0-9]{{1,3}}\.[0-9]{{1,3}}) GPIO ([0-9]{{1,2}}) LED ([0-9]{{1,2}})")


@dataclass(frozen=True)
class Info:
    firmware: str
    gpio_count: int
    led_count: int


def _os_lock():
    """A lock native threads can wait on, also once gevent has patched the standard library.

    The GPIO and the LED driver each run in their own pool thread and share this link. A patched
    ``threading.Lock`` is a greenlet lock: a second native thread waiting on it while the first holds
    it never wakes (it hangs), so the original, unpatched lock is taken when gevent is there.
    """
    try:
        from gevent.monkey import get_original
    except ImportError:  # not under gevent: the standard library is the original
        return threading.Lock()
    return get_original("threading", "Lock")()


class McuLink:
    """One serial port to one ACME MCU, shared by every driver of the board."""

    def __init__(self, port: str, baudrate: int = 115200, timeout: float = 1.0):
        self.port, self.baudrate, self.timeout = port, baudrate, timeout
        # One request and its reply on the wire at a time: the replies carry no request id, so two
        # interleaved exchanges would read each other's answers.
        self._lock = _os_lock()
        self._serial: serial.Serial | None = None

    # -- the commands ----------------------------------------------------------------------------------
    def info(self) -> Info:
        match = self.request("INFO?", _INFO)
        return Info(match[1], int(match[2]), int(match[3]))

    def gpio_read(self, pin: int) -> tuple[int, int]:
        """``(dir, level)`` of a pin: dir 0 output, 1 input."""
        return _state(self.request(f"GPIO? {pin:d}", _gpio_reply(pin)))

    def gpio_set_dir(self, pin: int, direction: int) -> tuple[int, int]:
        return _state(self.request(f"GPIO DIR {pin:d} {direction:d}", _gpio_reply(pin)))

    def gpio_set_level(self, pin: int, level: int) -> tuple[int, int]:
        return _state(self.request(f"GPIO SET {pin:d} {level:d}", _gpio_reply(pin)))

    def led_get(self, index: int) -> bool:
        return self.request(f"LED? {index:d}", _led_reply(index))[1] == "1"

    def led_set(self, index: int, on: bool) -> bool:
        return self.request(f"LED SET {index:d} {int(on)}", _led_reply(index))[1] == "1"

    # -- the exchange ----------------------------------------------------------------------------------
    def request(self, command: str, reply: re.Pattern[str]) -> re.Match[str]:
        """Send one command line, return its reply matched against ``reply``; ``OSError`` when the MCU
        refuses (``ERR``), stays silent past the timeout, or answers garbage twice. At most about
        three ``timeout``s (a reply, a resync, the second reply), plus the wait for another exchange."""
        with self._lock:
            return self._exchange(command, reply)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _exchange(self, command: str, reply: re.Pattern[str]) -> re.Match[str]:
        try:
            port = self._open()
            # Every command is idempotent (a read, or "set X to V"), so sending it again after a
            # garbled reply is safe: at worst the MCU applies the same value twice.
            for attempt in (1, 2):
                # Bytes already waiting are stale: the late reply to a request that timed out, or
                # noise picked up while nobody listened. Taken now, they would pass for this reply.
                port.reset_input_buffer()
                port.write(command.encode("ascii") + b"\n")
                raw = self._read_line(port)
                if not raw:
                    raise OSError(errno.ETIMEDOUT, f"no reply from the MCU within {self.timeout:g} s")
                line = _decode(raw)
                if line is not None:
                    refused = _ERR.fullmatch(line)
                    if refused:
                        code = int(refused[1])
                        raise OSError(ERR_ERRNO.get(code, errno.EIO), f"MCU refused (ERR {code}): {refused[2]}")
                    match = reply.fullmatch(line)
                    if match:
                        return match
                log.warning("garbled reply from the MCU on %s to %r (attempt %d): %r",
                            self.port, command, attempt, raw[:40])
                self._resync(port)
            raise OSError(errno.EIO, "garbled reply from the MCU")
        except serial.SerialException as exc:
            # The port itself failed (USB adapter unplugged, a write that timed out): start afresh with
            # a new open on the next request rather than trust this file descriptor again.
            self._close()
            code = errno.ETIMEDOUT if isinstance(exc, serial.SerialTimeoutException) else exc.errno or errno.EIO
            raise OSError(code, f"serial port {self.port}: {exc.strerror or exc}") from None

    def _open(self) -> serial.Serial:
        if self._serial is None:
            # write_timeout: a port whose output is stuck (flow control, a hung adapter) must not
            # hold the exchange forever either.
            self._serial = serial.Serial(self.port, self.baudrate, timeout=POLL_SECONDS,
                                         write_timeout=self.timeout)
        return self._serial

    def _close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except (OSError, serial.SerialException):
                pass
            self._serial = None

    def _read_line(self, port: serial.Serial) -> bytes:
        """Bytes up to and including ``\\n`` or as many as came before the deadline (b"" for none)."""
        deadline = time.monotonic() + self.timeout
        line = bytearray()
        while not line.endswith(b"\n") and len(line) < MAX_LINE and time.monotonic() < deadline:
            # read(1) returns at the latest after POLL_SECONDS, so the deadline is checked often
            line += port.read(1)
        return bytes(line)

    def _resync(self, port: serial.Serial) -> None:
        # A bare newline ends whatever half command the MCU may hold after noise on the wire; the
        # firmware ignores empty lines, so it sends no reply of its own to it.
        port.write(b"\n")
        deadline = time.monotonic() + self.timeout
        quiet_since = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - quiet_since < QUIET_SECONDS:
            port.reset_input_buffer()
            if port.read(1):
                quiet_since = time.monotonic()


def _decode(raw: bytes) -> str | None:
    """The reply's text, or None for bytes no firmware sends (no newline, not printable ASCII)."""
    if not raw.endswith(b"\n"):
        return None
    # The firmware ends lines with "\n"; tolerate "\r\n" from builds whose UART library adds it.
    text = raw[:-1].removesuffix(b"\r")
    if not all(0x20 <= byte <= 0x7E for byte in text):
        return None
    return text.decode("ascii")


def _gpio_reply(pin: int) -> re.Pattern[str]:
    # Every GPIO reply names its pin, so a stale reply about another pin is never taken for this one.
    return re.compile(rf"OK {pin:d} DIR ([01]) LEVEL ([01])")


def _led_reply(index: int) -> re.Pattern[str]:
    return re.compile(rf"OK {index:d} STATE ([01])")


def _state(match: re.Match[str]) -> tuple[int, int]:
    return int(match[1]), int(match[2])
