"""The ``etp`` capability on Linux: the EEPROM that holds the ETP user data, as plain bytes.

Configured, never discovered (the first EEPROM on an SMBus is often a DIMM's SPD, which must never be
written), in ``[plugins.linux.etp]`` (neither form set: no driver):

* ``eeprom``: the chip's sysfs file, relative to the sysfs root (an absolute path is taken as is), e.g.
  ``bus/i2c/devices/0-0050/eeprom`` (at24's own file) or ``bus/nvmem/devices/0-00500/nvmem``;
* or ``i2c_bus`` + ``i2c_address`` for a chip no driver is bound to (``etp_smbus.py``), with ``size``
  (512, a 24c04) and ``write_cycle_ms`` (5);
* ``page_size`` (16, a 24c04's): writes are issued one page at a time.

The sysfs file is the whole chip, read and written at offsets (there is no rename on a chip). at24
splits every write into page writes anyway; issuing them page by page from here means a crash can only
tear a write at the page boundaries where a power cut would, which the etp layout is built to survive
(and which tests reproduce by killing a writer). Its size is the file's: sysfs reports the chip's size.

Both drivers set ``blocking = True``: every read and write is I2C traffic with a write cycle per page,
and a bus can stall; the core runs them in the threadpool under the driver timeout.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from portald.settings import Settings as _Settings

from .etp_smbus import SmbusEeprom, pieces

log = logging.getLogger("portald.plugins.linux")


CAPABILITY = "etp"


class Settings(_Settings):
    """``[plugins.linux.etp]``: see the module docstring."""

    eeprom: str | None = Field(None, min_length=1)
    i2c_bus: int | None = Field(None, ge=0)
    i2c_address: int | None = Field(None, ge=0x03, le=0x77)
    size: int = Field(512, ge=1, le=2048)
    page_size: int = 16
    write_cycle_ms: float = Field(5.0, ge=0, le=100)

    @field_validator("page_size")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value < 1 or value > 256 or value & (value - 1):
            raise ValueError("page_size must be a power of two up to 256")
        return value

    @model_validator(mode="after")
    def _one_form(self):
        if self.eeprom is not None and self.i2c_bus is not None:
            raise ValueError("set eeprom (a chip bound to a kernel driver) or i2c_bus, not both")
        if (self.i2c_bus is None) != (self.i2c_address is None):
            raise ValueError("i2c_bus and i2c_address go together")
        return self


class EepromFile:
    name = "linux.etp"
    blocking = True  # see the module docstring

    def __init__(self, path: str | os.PathLike, page_size: int = 16):
        self.path, self.page_size = Path(path), page_size

    @property
    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def probe(self) -> bool:
        try:
            with open(self.path, "rb") as handle:
                handle.read(1)
        except OSError as exc:
            log.debug("ETP EEPROM %s not usable: %s", self.path, exc)
            return False
        return self.path.is_file() and self.size > 0

    def read(self, offset: int, length: int) -> bytes:
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(length)
        if len(data) != length:
            raise OSError(f"short read from {self.path}: {len(data)} of {length} bytes")
        return data

    def write(self, offset: int, data: bytes) -> None:
        if offset < 0 or offset + len(data) > self.size:
            raise OSError(f"write of {len(data)} bytes at {offset} is outside {self.path}")
        fd = os.open(self.path, os.O_WRONLY)
        try:
            for start, count in pieces(offset, len(data), self.page_size, self.page_size):
                chunk = data[start - offset:start - offset + count]
                while chunk:
                    written = os.pwrite(fd, chunk, start)
                    chunk, start = chunk[written:], start + written
        finally:
            os.close(fd)


def create_driver(ctx, settings: Settings):
    if settings.eeprom:
        path = Path(settings.eeprom)
        return EepromFile(path if path.is_absolute() else ctx.paths.sysfs(*path.parts), settings.page_size)
    if settings.i2c_bus is not None:
        return SmbusEeprom(str(ctx.paths.dev(f"i2c-{settings.i2c_bus}")), settings.i2c_address, settings.size,
                           settings.page_size, settings.write_cycle_ms / 1000)
    log.debug("no ETP EEPROM configured ([plugins.linux.etp] eeprom or i2c_bus)")
    return None
