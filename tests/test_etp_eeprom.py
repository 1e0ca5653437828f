"""The ETP EEPROM layout and store: the documented bytes, and writes that survive being torn — at every
page boundary, and by a writer process killed with SIGKILL — plus the SMBus path on an emulated 24c04.

The store runs on the real Linux driver over a copy of the at24 fixture's ``eeprom`` file.
"""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib

import pytest

from conftest import FIXTURES
from portald.state import StateStore
from portald_plugins.etp import layout
from portald_plugins.etp.store import Locked, UserDataStore, WrongPassword
from portald_plugins.boards.linux.etp import EepromFile
from portald_plugins.boards.linux.etp_smbus import SmbusEeprom
from portald_plugins.boards.sim.etp import SimEepromDriver

EEPROM = FIXTURES / "machines" / "uno-2484g" / "sys" / "bus" / "i2c" / "devices" / "0-0050" / "eeprom"
PAGE = 16


@pytest.fixture
def chip(tmp_path):
    path = tmp_path / "eeprom"
    shutil.copyfile(EEPROM, path)
    return path


def _store(path) -> UserDataStore:
    return UserDataStore(EepromFile(path, page_size=PAGE))


# --- the documented layout -----------------------------------------------------------------------

def _area_record(area: int, sequence: int, data: bytes) -> bytes:
    body = struct.pack("<BBIB", 1, area, sequence, len(data)) + data.ljust(128, b"\0")
    return body + struct.pack("<I", zlib.crc32(body))


def _lock_record(sequence: int, password: bytes | None, salt: bytes = bytes(8)) -> bytes:
    digest = hashlib.scrypt(password, salt=salt, n=2 ** 14, r=8, p=1, dklen=16) if password else bytes(16)
    body = struct.pack("<BBH", 1, int(password is not None), sequence) + salt + digest
    return body + struct.pack("<I", zlib.crc32(body))


def test_image_built_from_the_documented_layout_is_read(chip):
    image = bytearray(b"\xff" * 512)
    image[0x000:0x08B] = _area_record(1, 9, b"area one, newest")
    image[0x090:0x11B] = _area_record(2, 7, b"area two")
    image[0x120:0x1AB] = _area_record(1, 5, b"area one, older")
    image[0x1D0:0x1F0] = _lock_record(3, b"pw", b"saltsalt")
    chip.write_bytes(bytes(image))
    found = _store(chip).read()
    assert found.spaces == {1: b"area one, newest", 2: b"area two"} and found.locked
    assert _store(chip).unlock(b"pw") is True
    assert _store(chip).read().locked is False


def test_records_beyond_their_ranges_are_ignored_even_with_a_good_crc(chip):
    image = bytearray(b"\xff" * 512)
    image[0x000:0x08B] = _area_record(3, 9, b"no area 3")
    bad_length = bytearray(_area_record(1, 8, b"x"))
    bad_length[6] = 129
    bad_length[135:] = struct.pack("<I", zlib.crc32(bytes(bad_length[:135])))
    image[0x090:0x11B] = bad_length
    chip.write_bytes(bytes(image))
    assert _store(chip).read().spaces == {1: b"", 2: b""}


@pytest.mark.parametrize("fill", [b"\xff", b"\x00"])
def test_erased_or_zeroed_chip_is_empty_and_unlocked(chip, fill):
    chip.write_bytes(fill * 512)
    found = _store(chip).read()
    assert found.spaces == {1: b"", 2: b""} and not found.locked


def test_lock_sequence_may_wrap(chip):
    image = bytearray(b"\xff" * 512)
    image[0x1B0:0x1D0] = _lock_record(65535, b"pw", b"saltsalt")
    image[0x1D0:0x1F0] = _lock_record(0, None)
    chip.write_bytes(bytes(image))
    assert _store(chip).read().locked is False
    image[0x1B0:0x1D0], image[0x1D0:0x1F0] = _lock_record(65535, None), _lock_record(0, b"pw", b"saltsalt")
    chip.write_bytes(bytes(image))
    assert _store(chip).read().locked is True


def test_slots_start_on_page_boundaries():
    for page, used in ((8, 0x1F0), (16, 0x1F0), (32, 544), (64, 704)):
        spot = layout.Layout(page)
        offsets = [spot.area_offset(i) for i in range(3)] + [spot.lock_offset(i) for i in range(2)]
        assert all(offset % max(page, 16) == 0 for offset in offsets) and spot.used == used, page


def test_layout_fits_a_24c04_and_leaves_the_rest_alone(chip):
    used = layout.Layout(PAGE).used
    assert used == 0x1F0 <= 512
    store = _store(chip)
    for n in range(5):
        store.write(1, b"%d" % n * 100)
        store.write(2, b"%d" % n * 50)
    store.lock(b"pw")
    assert chip.read_bytes()[used:] == b"\xff" * (512 - used)


def test_writes_rotate_through_the_free_slots_and_never_touch_the_other_areas_live_record(chip):
    store = _store(chip)
    store.write(2, b"two")
    two = chip.read_bytes()[0:layout.AREA_RECORD]
    used = set()
    for n in range(6):
        store.write(1, b"one %d" % n)
        slots = layout.Layout(PAGE).area_slots(chip.read_bytes())
        used |= {i for i, r in enumerate(slots) if r is not None and r.area == 1}
        assert chip.read_bytes()[0:layout.AREA_RECORD] == two
    assert used == {1, 2}


def test_locked_store_refuses_writes_and_a_wrong_password(chip):
    store = _store(chip)
    store.write(1, b"before")
    store.lock(b"pw")
    with pytest.raises(Locked):
        store.write(1, b"after")
    with pytest.raises(WrongPassword):
        store.unlock(b"PW")
    assert store.read().spaces[1] == b"before"


# --- torn writes ---------------------------------------------------------------------------------

def _pages_changed(before: bytes, after: bytes) -> list[int]:
    return [p for p in range(0, len(before), PAGE) if before[p:p + PAGE] != after[p:p + PAGE]]


def _torn(before: bytes, after: bytes, pages: list[int], written: int, garbage: bytes | None) -> bytes:
    """``before`` with the first ``written`` changed pages of ``after`` committed and, when given,
    the next page left holding ``garbage`` (a power cut during its write cycle)."""
    image = bytearray(before)
    for page in pages[:written]:
        image[page:page + PAGE] = after[page:page + PAGE]
    if garbage is not None and written < len(pages):
        image[pages[written]:pages[written] + PAGE] = garbage
    return bytes(image)


@pytest.mark.parametrize("garbage", [None, b"\x00" * PAGE, bytes(range(PAGE))])
def test_area_torn_at_any_page_reads_entirely_old_or_entirely_new(chip, garbage):
    store = _store(chip)
    store.write(1, b"old " * 32)
    store.write(2, b"the other area")
    before = chip.read_bytes()
    store.write(1, b"NEW!" * 32)
    after = chip.read_bytes()
    pages = _pages_changed(before, after)
    assert len(pages) >= 8
    for written in range(len(pages) + 1):
        chip.write_bytes(_torn(before, after, pages, written, garbage))
        expected = b"NEW!" * 32 if written == len(pages) else b"old " * 32
        assert _store(chip).read().spaces == {1: expected, 2: b"the other area"}, written


@pytest.mark.parametrize("garbage", [None, b"\x00" * PAGE])
def test_lock_torn_at_any_page_is_entirely_old_or_entirely_new(chip, garbage):
    store = _store(chip)
    before = chip.read_bytes()
    store.lock(b"pw")
    after = chip.read_bytes()
    pages = _pages_changed(before, after)
    assert pages
    for written in range(len(pages) + 1):
        chip.write_bytes(_torn(before, after, pages, written, garbage))
        assert _store(chip).read().locked is (written == len(pages)), written


WRITER = """
import sys
from portald_plugins.etp.store import UserDataStore
from portald_plugins.boards.linux.etp import EepromFile

path, number, progress = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "a")
store = UserDataStore(EepromFile(path, page_size=16))
while True:
    store.write(1, b"%08d" % number * 16)
    progress.write(f"{number}\\n")
    progress.flush()
    number += 1
"""


def _pattern(number: int) -> bytes:
    return b"%08d" % number * 16


def _done(progress) -> list[int]:
    return [int(line) for line in progress.read_text().split()]


def _wait_for_writes(progress, proc, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(_done(progress)) < count:
        assert proc.poll() is None, "the writer died on its own"
        assert time.monotonic() < deadline, "the writer never got going"
        time.sleep(0.002)


def _torn_slot(chip) -> bool:
    return any(record is None for record in layout.Layout(PAGE).area_slots(chip.read_bytes()))


def _kill_inside_a_record(proc, chip) -> None:
    """Freeze the writer (SIGSTOP) again and again until it is caught with a record half-written in the
    chip, then SIGKILL it there: kills at arbitrary moments mostly land between records, since a file
    takes a page in microseconds where a real chip takes milliseconds."""
    for _ in range(20000):
        os.kill(proc.pid, signal.SIGSTOP)
        os.waitpid(proc.pid, os.WUNTRACED)
        if _torn_slot(chip):
            proc.kill()
            return
        os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.0002)
    pytest.fail("the writer was never caught inside a record")


def _run_writer(chip, progress, first: int, kill) -> None:
    progress.touch()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(chip), str(first), str(progress)])
    try:
        # two writes done: both slots area 1 rotates through hold this run's records, so a torn slot
        # seen later is the write in flight
        _wait_for_writes(progress, proc, 2)
        kill(proc)
    finally:
        proc.kill()
        proc.wait()


def test_writer_killed_inside_a_record_leaves_the_old_data(chip, tmp_path):
    """SIGKILL a process rewriting area 1 in a loop while it has a record half-written (10 times):
    the area reads back as the last write it reported done, entirely, and area 2 is untouched."""
    _store(chip).write(2, b"area two is never written by the writer")
    for round_ in range(10):
        progress = tmp_path / f"progress-{round_}"
        _run_writer(chip, progress, (round_ + 1) * 1000000, lambda proc: _kill_inside_a_record(proc, chip))
        assert _torn_slot(chip), round_
        found = _store(chip).read()
        assert found.spaces[1] == _pattern(_done(progress)[-1]), round_
        assert found.spaces[2] == b"area two is never written by the writer"


def test_writer_killed_at_any_moment_leaves_old_or_new_data(chip, tmp_path):
    """SIGKILL the same writer at 10 arbitrary moments: area 1 holds the last write reported done or
    the next one (done, not yet reported), never a mix."""
    _store(chip).write(2, b"area two is never written by the writer")
    for round_ in range(10):
        progress = tmp_path / f"progress-{round_}"
        _run_writer(chip, progress, (round_ + 1) * 1000000, lambda proc: time.sleep(0.002 * round_))
        done = _done(progress)[-1]
        found = _store(chip).read()
        assert found.spaces[1] in (_pattern(done), _pattern(done + 1)), round_
        assert found.spaces[2] == b"area two is never written by the writer"


# --- the SMBus path, on an emulated chip ---------------------------------------------------------

class Emulated24c04:
    """A 24c04 as the chip behaves on the bus, standing in for smbus2.SMBus (no I2C adapter here):
    answers at 0x50 (bytes 0-255) and 0x51 (256-511), a page write wraps inside its 16-byte page, an
    SMBus block carries at most 32 bytes."""

    def __init__(self):
        self.memory = bytearray(b"\xff" * 512)
        self.devices = []

    def __call__(self, device):
        self.devices.append(device)
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def _base(self, address: int) -> int:
        if address not in (0x50, 0x51):
            raise OSError(errno.ENXIO, "no such device")
        return (address - 0x50) * 256

    def read_i2c_block_data(self, address, register, length):
        assert 1 <= length <= 32
        start = self._base(address) + register
        return [self.memory[(start + i) % 512] for i in range(length)]

    def write_i2c_block_data(self, address, register, data):
        assert 1 <= len(data) <= 32
        start = self._base(address) + register
        page = start - start % 16
        for i, value in enumerate(data):
            self.memory[page + (start - page + i) % 16] = value


def test_smbus_path_keeps_to_pages_and_banks_of_a_24c04():
    emulated = Emulated24c04()
    device = SmbusEeprom("/dev/i2c-7", 0x50, 512, 16, 0, bus_factory=emulated)
    assert device.probe()
    store = UserDataStore(device)
    store.write(1, bytes(range(128)))
    store.write(2, b"second area, in the slot that spans both banks")
    store.write(1, b"rewritten")
    store.lock(b"pw")
    found = store.read()
    assert found.spaces == {1: b"rewritten", 2: b"second area, in the slot that spans both banks"}
    assert found.locked and layout.Layout(PAGE).lock_slots(bytes(emulated.memory)).count(None) == 1
    assert set(emulated.devices) == {"/dev/i2c-7"}


def test_smbus_probe_is_false_when_nothing_answers():
    assert not SmbusEeprom("/dev/i2c-7", 0x57, 512, 16, 0, bus_factory=Emulated24c04()).probe()


def test_sim_eeprom_starts_erased_keeps_its_bounds_and_persists(tmp_path):
    state = StateStore(tmp_path / "sim")
    device = SimEepromDriver(state)
    assert device.read(0, 512) == b"\xff" * 512
    with pytest.raises(OSError):
        device.write(510, b"abc")
    UserDataStore(device).write(2, b"kept in the image")
    UserDataStore(device).lock(b"pw")
    assert len(state.read_bytes("etp-eeprom.bin")) == 512
    found = UserDataStore(SimEepromDriver(StateStore(tmp_path / "sim"))).read()
    assert found.spaces == {1: b"", 2: b"kept in the image"} and found.locked


def test_file_driver_rejects_a_write_past_the_chip(chip):
    with pytest.raises(OSError):
        EepromFile(chip).write(500, b"x" * 20)
    assert chip.read_bytes() == EEPROM.read_bytes()
    assert os.path.getsize(chip) == 512
