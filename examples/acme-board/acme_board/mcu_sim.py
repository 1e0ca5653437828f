"""A simulated ACME EDGE-200 microcontroller for tests: it speaks the line protocol (README.md) on the
master side of a pseudo-terminal, in a thread, while the driver opens the slave side by its path
(``mcu.port``, e.g. ``/dev/pts/3``) exactly as it opens ``/dev/ttyUSB0`` on the board.

Owns the firmware's behaviour: 8 pins (0-3 outputs driving low, 4-7 inputs reading ``wire``) and 4 LEDs
off; a pin switched to output starts low, setting a pin's own direction again changes nothing, the level
of an input is refused (``ERR 3``), empty lines are ignored. Tests look at and set the state directly
(``direction``, ``latch``, ``wire``, ``leds``), see every request line (``requests``), and misbehave on
demand: ``mode = "silent"`` (never answer), ``"garbage"`` (answer noise), ``garble_next = n`` (noise for
the next n replies only), ``delay`` (seconds before each reply), ``inject(data)`` (unsolicited bytes).
No portald and no pyserial in here: only the standard library.
"""
from __future__ import annotations

import os
import select
import threading
import time
import tty

GPIO_COUNT, LED_COUNT = 8, 4
OUTPUT, INPUT = 0, 1
FIRMWARE = "1.4"
NOISE = b"\xfe\x00#@!~ \x7f\x9b?\r\n"
# The firmware's receive buffer: a longer line is dropped whole and refused.
MAX_REQUEST = 64


class SimulatedMcu:
    def __init__(self) -> None:
        self.direction = [OUTPUT] * 4 + [INPUT] * 4
        self.latch = [0] * GPIO_COUNT  # what each output drives
        self.wire = [0] * GPIO_COUNT   # what each input reads
        self.leds = [False] * LED_COUNT
        self.mode = "ok"
        self.garble_next = 0
        self.delay = 0.0
        self.requests: list[str] = []
        self._master = self._slave = -1
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.port = ""

    # -- lifetime --------------------------------------------------------------------------------------
    def start(self) -> "SimulatedMcu":
        self._master, self._slave = os.openpty()
        # Raw on both ends: a pty starts in cooked mode, which would echo every request back to the
        # driver, turn "\n" into "\r\n" and hold bytes until a line is complete.
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._serve, name="acme-mcu-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def __enter__(self) -> "SimulatedMcu":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def inject(self, data: bytes) -> None:
        """Bytes the MCU sends unasked (line noise, a reply nobody waits for any more)."""
        os.write(self._master, data)

    # -- the firmware ----------------------------------------------------------------------------------
    def _serve(self) -> None:
        # The simulator keeps its own copy of the slave open (self._slave): without it, every time the
        # driver closes the port the master would read EIO until the driver opens it again.
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                pending += os.read(self._master, 1024)
            except OSError:
                return
            while b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                self._handle(raw.rstrip(b"\r"))
            if len(pending) > MAX_REQUEST:
                pending = b""
                self._reply("ERR 1 line too long")

    def _handle(self, raw: bytes) -> None:
        if not raw:
            return  # empty lines are how a driver resynchronises: never answered
        line = raw.decode("ascii", errors="replace")
        self.requests.append(line)
        self._reply(self.answer(line))

    def _reply(self, text: str) -> None:
        if self.mode == "silent":
            return
        if self.delay:
            time.sleep(self.delay)
        if self.mode == "garbage" or self.garble_next > 0:
            self.garble_next = max(0, self.garble_next - 1)
            os.write(self._master, NOISE)
            return
        os.write(self._master, text.encode("ascii") + b"\n")

    def answer(self, line: str) -> str:
        """The firmware's reply to one request line (without its newline)."""
        words = line.split(" ")
        if words == ["INFO?"]:
            return f"OK ACME-EDGE-200 FW {FIRMWARE} GPIO {GPIO_COUNT} LED {LED_COUNT}"
        if len(words) == 2 and words[0] == "GPIO?":
            pin = _number(words[1], GPIO_COUNT)
            return self._gpio(pin) if pin is not None else f"ERR 2 no such pin {words[1][:8]}"
        if len(words) == 4 and words[:2] in (["GPIO", "DIR"], ["GPIO", "SET"]):
            pin, value = _number(words[2], GPIO_COUNT), _number(words[3], 2)
            if pin is None:
                return f"ERR 2 no such pin {words[2][:8]}"
            if value is None:
                return "ERR 2 value must be 0 or 1"
            if words[1] == "DIR":
                if self.direction[pin] != value:
                    self.direction[pin] = value
                    if value == OUTPUT:
                        self.latch[pin] = 0
            elif self.direction[pin] == INPUT:
                return f"ERR 3 pin {pin} is an input"
            else:
                self.latch[pin] = value
            return self._gpio(pin)
        if len(words) == 2 and words[0] == "LED?":
            index = _number(words[1], LED_COUNT)
            return self._led(index) if index is not None else f"ERR 2 no such LED {words[1][:8]}"
        if len(words) == 4 and words[:2] == ["LED", "SET"]:
            index, value = _number(words[2], LED_COUNT), _number(words[3], 2)
            if index is None:
                return f"ERR 2 no such LED {words[2][:8]}"
            if value is None:
                return "ERR 2 value must be 0 or 1"
            self.leds[index] = bool(value)
            return self._led(index)
        return "ERR 1 unknown command"

    def _gpio(self, pin: int) -> str:
        level = self.latch[pin] if self.direction[pin] == OUTPUT else self.wire[pin]
        return f"OK {pin} DIR {self.direction[pin]} LEVEL {level}"

    def _led(self, index: int) -> str:
        return f"OK {index} STATE {int(self.leds[index])}"


def _number(word: str, limit: int) -> int | None:
    """A decimal from 0 to limit - 1, as the firmware parses it (digits only, no sign)."""
    if not (word.isascii() and word.isdigit() and len(word) <= 3):
        return None
    value = int(word)
    return value if value < limit else None
