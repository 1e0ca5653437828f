"""The user-data store on top of an EEPROM driver: read both areas and the lock, write an area, lock and
unlock. Owns the slot choice (see ``layout``), the read-back check and the lock password's hash.

Slow by nature (EEPROM I/O, scrypt), and a sequence of reads and writes: callers run one operation at
a time. The slow parts are calls out of it, which the daemon runs in the threadpool: the driver's
``read``/``write`` (a blocking driver) and ``digest`` (``LockHash`` behind a ``BlockingDriver``); the
store itself only computes on bytes it already has. Without gevent (tests, tools) it simply blocks.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Callable

from . import layout
from .layout import AreaRecord, LockRecord

# scrypt as for the admin password: the lock password is short (1-8 bytes) and may be reused elsewhere,
# so it must not be cheap to recover from a dump of the chip.
_N, _R, _P = 2 ** 14, 8, 1


class StoreError(Exception):
    """A refusal or failure worded for the client (``{"errors": {"ETP": str(exc)}}``)."""


class Locked(StoreError):
    pass


class WrongPassword(StoreError):
    pass


@dataclass(frozen=True)
class UserData:
    spaces: dict[int, bytes]
    locked: bool


def _digest(password: bytes, salt: bytes) -> bytes:
    return hashlib.scrypt(password, salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 * 1024,
                          dklen=layout.DIGEST_SIZE)


class LockHash:
    """The lock password's hash as a call the daemon can run in the threadpool: scrypt takes ~50 ms of
    CPU here (more on an edge PC's Atom), with the GIL released, which would stall the event loop."""

    name = "etp.lock-hash"  # what a timeout's message names

    def digest(self, password: bytes, salt: bytes) -> bytes:
        return _digest(password, salt)


def _newest_area(records: list[AreaRecord | None]) -> int | None:
    valid = [(r.sequence, i) for i, r in enumerate(records) if r is not None]
    return max(valid)[1] if valid else None


def _newest_lock(records: list[LockRecord | None]) -> int | None:
    """Of two valid lock records, the one at most half the sequence space ahead (it may have wrapped)."""
    valid = [i for i, r in enumerate(records) if r is not None]
    if len(valid) < 2:
        return valid[0] if valid else None
    first, second = valid
    ahead = (records[second].sequence - records[first].sequence) % layout.LOCK_SEQUENCES
    return second if ahead < layout.LOCK_SEQUENCES // 2 else first


def _free_slot(records: list, live: set[int]) -> int:
    """A slot holding no live record: an invalid one first, else the oldest (spreads the wear)."""
    free = [i for i in range(len(records)) if i not in live]
    return min(free, key=lambda i: (records[i] is not None, records[i].sequence if records[i] else 0, i))


class UserDataStore:
    """``device``: an ``etp`` driver (``size``, ``page_size``, ``read(offset, length)``, ``write(offset, data)``);
    ``digest(password, salt)``: the lock password's hash (scrypt, computed here unless given)."""

    def __init__(self, device, digest: Callable[[bytes, bytes], bytes] = _digest):
        self.device = device
        self.layout = layout.Layout(device.page_size)
        self._digest = digest

    def _image(self) -> bytes:
        return bytes(self.device.read(0, self.layout.used))

    # -- reading -----------------------------------------------------------------------------------
    def _live_areas(self, image: bytes) -> tuple[list[AreaRecord | None], dict[int, int]]:
        records = self.layout.area_slots(image)
        live = {}
        for area in layout.AREAS:
            slot = _newest_area([r if r is not None and r.area == area else None for r in records])
            if slot is not None:
                live[area] = slot
        return records, live

    def _lock(self, image: bytes) -> tuple[list[LockRecord | None], int | None, LockRecord]:
        records = self.layout.lock_slots(image)
        slot = _newest_lock(records)
        return records, slot, records[slot] if slot is not None else LockRecord(0, False)

    def read(self) -> UserData:
        image = self._image()
        records, live = self._live_areas(image)
        spaces = {area: records[live[area]].data if area in live else b"" for area in layout.AREAS}
        return UserData(spaces, self._lock(image)[2].locked)

    # -- writing -----------------------------------------------------------------------------------
    def _put(self, offset: int, raw: bytes) -> None:
        self.device.write(offset, raw)
        # A chip with its write-protect pin tied high acknowledges and drops the bytes; the kernel
        # cannot tell, so only reading back shows it.
        if bytes(self.device.read(offset, len(raw))) != raw:
            raise StoreError("the EEPROM did not keep the data (write-protected?)")

    def write(self, area: int, data: bytes) -> bool:
        """Store ``data`` in ``area`` (1 or 2); False when it already held exactly that (no write)."""
        if len(data) > layout.AREA_SIZE:
            raise ValueError("at most 128 bytes")
        image = self._image()
        if self._lock(image)[2].locked:
            raise Locked("the user data area is locked")
        records, live = self._live_areas(image)
        if (records[live[area]].data if area in live else b"") == data:
            return False
        sequence = max((r.sequence for r in records if r is not None), default=0) + 1
        slot = _free_slot(records, set(live.values()))
        self._put(self.layout.area_offset(slot), layout.encode_area(AreaRecord(area, sequence, data)))
        return True

    def _set_lock(self, image: bytes, locked: bool, password: bytes) -> None:
        records, slot, current = self._lock(image)
        salt = os.urandom(layout.SALT_SIZE) if locked else bytes(layout.SALT_SIZE)
        digest = self._digest(password, salt) if locked else bytes(layout.DIGEST_SIZE)
        target = _free_slot(records, {slot} if slot is not None else set())
        record = LockRecord((current.sequence + 1) % layout.LOCK_SEQUENCES, locked, salt, digest)
        self._put(self.layout.lock_offset(target), layout.encode_lock(record))

    def _matches(self, record: LockRecord, password: bytes) -> bool:
        return hmac.compare_digest(self._digest(password, record.salt), record.digest)

    def lock(self, password: bytes) -> bool:
        """Lock with ``password``; False when it was locked already with that same password."""
        image = self._image()
        current = self._lock(image)[2]
        if current.locked:
            if not self._matches(current, password):
                raise WrongPassword("the user data area is already locked with another password")
            return False
        self._set_lock(image, True, password)
        return True

    def unlock(self, password: bytes) -> bool:
        """Unlock when ``password`` is the lock's; False when it was not locked."""
        image = self._image()
        current = self._lock(image)[2]
        if not current.locked:
            return False
        if not self._matches(current, password):
            raise WrongPassword("wrong password")
        self._set_lock(image, False, b"")
        return True
