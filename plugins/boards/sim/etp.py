"""The sim board's ETP EEPROM (the ``etp`` capability): a 512-byte 24c04 image kept in the sim's state
folder (``etp-eeprom.bin``), so user data and the lock survive a restart as on a real chip. A fresh
image is erased (all 0xFF), as a new chip is. Every write replaces the file atomically; the etp
plugin's slot layout on top is the same as on hardware. The device data comes from the sim ``board``."""
from __future__ import annotations

SIZE = 512
IMAGE = "etp-eeprom.bin"


class SimEepromDriver:
    name = "sim.etp"
    size = SIZE
    page_size = 16
    # as the hardware's: every call (an fsync'd state file here) runs in the threadpool, so the sim
    # exercises the same path as a real EEPROM
    blocking = True

    def __init__(self, state):
        self._state = state

    def probe(self) -> bool:
        return True

    def _image(self) -> bytearray:
        data = self._state.read_bytes(IMAGE)
        # a missing or truncated image (older sim, hand-edited) reads as erased where it has no bytes
        return bytearray((data or b"")[:SIZE].ljust(SIZE, b"\xff"))

    def _check(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > SIZE:
            raise OSError(f"EEPROM range {offset}+{length} outside its {SIZE} bytes")

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        return bytes(self._image()[offset:offset + length])

    def write(self, offset: int, data: bytes) -> None:
        self._check(offset, len(data))
        image = self._image()
        image[offset:offset + len(data)] = data
        self._state.write_bytes(IMAGE, bytes(image))


CAPABILITY = "etp"


def create_driver(ctx, settings=None):
    return SimEepromDriver(ctx.state)
