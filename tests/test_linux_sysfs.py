"""The Linux board's one sysfs attribute reader: bounded to a page, tolerant of bad bytes."""
from __future__ import annotations

import errno

import pytest

from portald_plugins.boards.linux.sysfs import ATTR_LIMIT, read_attr, read_attr_or_none, read_int, read_int_or_none


def test_a_file_larger_than_an_attribute_is_read_only_to_a_page(tmp_path):
    big = tmp_path / "brightness"
    big.write_bytes(b"7" * (50 * 1024 * 1024))
    assert len(read_attr(big)) == ATTR_LIMIT


def test_undecodable_bytes_never_fail(tmp_path):
    name = tmp_path / "name"
    name.write_bytes(b"nct\xff6775\n")
    assert read_attr(name).startswith("nct") and read_attr(name).endswith("6775")


def test_numbers_and_failures(tmp_path):
    (tmp_path / "ok").write_text("42\n")
    (tmp_path / "bad").write_text("on fire\n")
    assert read_int(tmp_path / "ok") == 42
    with pytest.raises(OSError) as failed:
        read_int(tmp_path / "bad")
    assert failed.value.errno == errno.EIO
    assert read_int_or_none(tmp_path / "bad") is None
    assert read_attr_or_none(tmp_path / "missing") is None
    with pytest.raises(OSError):
        read_attr(tmp_path / "missing")
