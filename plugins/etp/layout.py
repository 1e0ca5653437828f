"""The byte layout of the ETP user-data EEPROM: records, their CRCs and where they sit. Pure bytes.

An EEPROM has no atomic multi-byte write: the chip commits one page (16 bytes on a 24c04) per write
cycle, and a power cut or a killed writer between pages leaves a record half old, half new; a power cut
during a write cycle may leave that whole page undefined. So nothing is ever rewritten in place, and no
two records share a page. Each record carries a sequence number and a CRC-32; a write goes to a slot
that holds nothing live, and a reader takes, per record kind, the valid slot with the newest sequence.
A torn record fails its CRC and the previous one stays the answer: every area reads back entirely old
or entirely new, and a torn write never touches another record.

Layout for a chip with pages of 16 bytes or less (496 bytes from offset 0; fits a 24c04's 512, the rest
is left alone)::

    0x000  area slot 0   139 bytes in 144  \\
    0x090  area slot 1   139 bytes in 144   } a pool of 3 slots for the 2 user areas: at any time one
    0x120  area slot 2   139 bytes in 144  /  live slot per area, and one free to write into
    0x1B0  lock slot 0    32 bytes          \\  the lock record, two slots: the live one and the next
    0x1D0  lock slot 1    32 bytes          /
    0x1F0  end

Slots start on page boundaries: on a chip with larger pages (``page_size`` 32, 64, ...) each slot is
rounded up to whole pages, and the layout needs more room (544 bytes for 32-byte pages). The bytes
between a record's end and its slot's end are never written.

Area record (139 bytes, integers little-endian)::

    +0    u8    format, 1
    +1    u8    area, 1 (userSpace1) or 2 (userSpace2)
    +2    u32   sequence, shared by the 3 area slots: a new record gets the highest valid one + 1
    +6    u8    length of the data, 0..128
    +7    128   data (bytes past ``length`` are 0x00)
    +135  u32   CRC-32 (zlib/IEEE) of bytes +0..+134

Lock record (32 bytes)::

    +0    u8    format, 1
    +1    u8    locked, 0 or 1
    +2    u16   sequence, the live record's + 1, modulo 65536 (the newer of two is the one at most
                32767 ahead: serial-number arithmetic, so the count may wrap)
    +4    8     salt (zeros when unlocked)
    +12   16    scrypt(password, salt, n=2**14, r=8, p=1), first 16 bytes (zeros when unlocked)
    +28   u32   CRC-32 of bytes +0..+27

An erased chip (all 0xFF) or one holding anything else has no valid record: both areas read empty
and the area is unlocked. A field outside its range (format, area, locked, length) makes the record
invalid even when its CRC checks.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

FORMAT = 1
AREA_SIZE = 128
AREAS = (1, 2)
AREA_SLOTS, LOCK_SLOTS = 3, 2

_AREA = struct.Struct("<BBIB128s")
_LOCK = struct.Struct("<BBH8s16s")
_CRC = struct.Struct("<I")
AREA_RECORD = _AREA.size + _CRC.size
LOCK_RECORD = _LOCK.size + _CRC.size
SALT_SIZE, DIGEST_SIZE = 8, 16
LOCK_SEQUENCES = 1 << 16
MIN_ALIGN = 16


@dataclass(frozen=True)
class AreaRecord:
    area: int
    sequence: int
    data: bytes


@dataclass(frozen=True)
class LockRecord:
    sequence: int
    locked: bool
    salt: bytes = bytes(SALT_SIZE)
    digest: bytes = bytes(DIGEST_SIZE)


def _whole(size: int, unit: int) -> int:
    return -(-size // unit) * unit


@dataclass(frozen=True)
class Layout:
    """Where the slots sit on a chip with ``page_size``-byte pages."""

    page_size: int = MIN_ALIGN

    @property
    def _align(self) -> int:
        return max(MIN_ALIGN, self.page_size)

    @property
    def lock_base(self) -> int:
        return AREA_SLOTS * _whole(AREA_RECORD, self._align)

    @property
    def used(self) -> int:
        return self.lock_base + LOCK_SLOTS * _whole(LOCK_RECORD, self._align)

    def area_offset(self, slot: int) -> int:
        return slot * _whole(AREA_RECORD, self._align)

    def lock_offset(self, slot: int) -> int:
        return self.lock_base + slot * _whole(LOCK_RECORD, self._align)

    def area_slots(self, image: bytes) -> list[AreaRecord | None]:
        return [decode_area(image[self.area_offset(i):self.area_offset(i) + AREA_RECORD])
                for i in range(AREA_SLOTS)]

    def lock_slots(self, image: bytes) -> list[LockRecord | None]:
        return [decode_lock(image[self.lock_offset(i):self.lock_offset(i) + LOCK_RECORD])
                for i in range(LOCK_SLOTS)]


def _seal(body: bytes) -> bytes:
    return body + _CRC.pack(zlib.crc32(body))


def _unseal(raw: bytes, size: int) -> bytes | None:
    if len(raw) != size + _CRC.size:
        return None
    body = raw[:size]
    return body if _CRC.unpack(raw[size:])[0] == zlib.crc32(body) else None


def encode_area(record: AreaRecord) -> bytes:
    if record.area not in AREAS or len(record.data) > AREA_SIZE:
        raise ValueError("area must be 1 or 2 and data at most 128 bytes")
    return _seal(_AREA.pack(FORMAT, record.area, record.sequence, len(record.data), record.data))


def decode_area(raw: bytes) -> AreaRecord | None:
    body = _unseal(raw, _AREA.size)
    if body is None:
        return None
    fmt, area, sequence, length, data = _AREA.unpack(body)
    if fmt != FORMAT or area not in AREAS or length > AREA_SIZE:
        return None
    return AreaRecord(area, sequence, data[:length])


def encode_lock(record: LockRecord) -> bytes:
    return _seal(_LOCK.pack(FORMAT, int(record.locked), record.sequence % LOCK_SEQUENCES, record.salt,
                            record.digest))


def decode_lock(raw: bytes) -> LockRecord | None:
    body = _unseal(raw, _LOCK.size)
    if body is None:
        return None
    fmt, locked, sequence, salt, digest = _LOCK.unpack(body)
    if fmt != FORMAT or locked not in (0, 1):
        return None
    return LockRecord(sequence, bool(locked), salt, digest)

