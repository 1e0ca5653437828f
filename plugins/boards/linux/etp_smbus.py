"""An ETP user-data EEPROM that no kernel driver is bound to, spoken to directly over ``/dev/i2c-N``
(smbus2). Used only when ``[plugins.linux.etp]`` names ``i2c_bus`` and ``i2c_address``; an EEPROM bound
to at24 is used through its sysfs file instead (``etp.py``), and the kernel refuses this path for it
(EBUSY: smbus2 does not force the address).

Only parts with one address byte (24c01 to 24c16, at most 2 KiB) are handled: on those the bits of the
offset above the first 256 bytes are the low bits of the I2C address (a 24c04 answers at 0x50 and 0x51).
Larger parts take a two-byte address; bind them to at24 and configure ``eeprom``.

The chip rules this follows, as at24 does:
* a page write must stay inside one page: past the page's end the chip wraps to the page's start and
  overwrites what was written first;
* after a page write the chip is busy for its write cycle (tWR, 5 ms on most parts) and does not
  acknowledge its address; waiting the configured ``write_cycle_ms`` before the next transfer avoids that;
* an SMBus I2C-block transfer carries at most 32 bytes.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Iterator

log = logging.getLogger("portald.plugins.linux")

SMBUS_BLOCK_MAX = 32
BANK = 256  # bytes reached through one I2C address with a one-byte word address


def pieces(offset: int, length: int, boundary: int, most: int) -> Iterator[tuple[int, int]]:
    """Split ``offset..offset+length`` into (offset, length) runs of at most ``most`` bytes that never
    cross a multiple of ``boundary``."""
    end = offset + length
    while offset < end:
        count = min(end - offset, most, boundary - offset % boundary)
        yield offset, count
        offset += count


class SmbusEeprom:
    name = "linux.etp-smbus"
    blocking = True  # I2C transfers and write-cycle waits: the core runs them in the threadpool

    def __init__(self, device: str, address: int, size: int, page_size: int, write_cycle_s: float,
                 bus_factory: Callable | None = None):
        self.device, self.address, self.size = device, address, size
        self.page_size, self.write_cycle_s = page_size, write_cycle_s
        self._bus_factory = bus_factory

    def _open(self):
        if self._bus_factory is None:
            from smbus2 import SMBus

            self._bus_factory = SMBus
        return self._bus_factory(self.device)

    def probe(self) -> bool:
        try:
            self.read(0, 1)
        except OSError as exc:
            log.debug("no EEPROM answers at %s 0x%02x: %s", self.device, self.address, exc)
            return False
        return True

    def _check(self, offset: int, length: int) -> None:
        if offset < 0 or offset + length > self.size:
            raise OSError(f"EEPROM range {offset}+{length} outside its {self.size} bytes")

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        out = bytearray()
        with self._open() as bus:
            for start, count in pieces(offset, length, BANK, SMBUS_BLOCK_MAX):
                out += bytes(bus.read_i2c_block_data(self.address + start // BANK, start % BANK, count))
        return bytes(out)

    def write(self, offset: int, data: bytes) -> None:
        self._check(offset, len(data))
        with self._open() as bus:
            for start, count in pieces(offset, len(data), self.page_size, min(self.page_size, SMBUS_BLOCK_MAX)):
                chunk = list(data[start - offset:start - offset + count])
                bus.write_i2c_block_data(self.address + start // BANK, start % BANK, chunk)
                time.sleep(self.write_cycle_s)
