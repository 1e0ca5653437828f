"""The Linux disk driver against sysfs/procfs trees laid out like the kernel's, and against this machine:
its disks and their filesystems, and its I/O counters from ``diskstats``.

Committed fixtures live in tests/fixtures/machines/<machine>/ and tests/fixtures/cases/virtual-only/
(``sys/``, ``proc/``, ``statvfs.json``: the ``statvfs`` numbers recorded for each mount point,
``expected/perif.disk.json``: the API's answer, checked by hand)
and are never modified here; a test that changes a tree copies it to tmp_path first. Filesystem usage
comes from the OS's statvfs, which cannot be pointed at a fixture, so these tests hand the driver the
recorded numbers in its place.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from portald_plugins.boards.linux.disk import IGNORED, LinuxDiskDriver, parse_diskstats
from portald_plugins.boards.linux.disk_mounts import read_mounts

FIXTURES = Path(__file__).parent / "fixtures" / "machines"
CASES = FIXTURES.parent / "cases"
MACHINES = ["desktop", "arm-emmc-usb"]
DISK_KEYS = ["name", "sizeBytes", "physicalBlockSizeBytes", "removable", "vendor", "model", "serialNumber",
             "firmwareRevision", "mediaType", "partitions"]
PARTITION_KEYS = ["mountPoint", "sizeBytes", "freeBytes", "usedBytes", "usedPercent", "readOnly"]
IO_KEYS = ["device", "readsCompleted", "writesCompleted", "readBytes", "writtenBytes", "readTimeSeconds",
           "writeTimeSeconds"]


def recorded_statvfs(machine: str):
    folder = FIXTURES / machine if (FIXTURES / machine).is_dir() else CASES / machine
    table = json.loads((folder / "statvfs.json").read_text())

    def statvfs(path):
        if str(path) not in table:
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return SimpleNamespace(**table[str(path)])
    return statvfs


def driver_for(root: Path, machine: str | None = None, **options) -> LinuxDiskDriver:
    return LinuxDiskDriver(root / "sys", root / "proc" / "self" / "mountinfo",
                           statvfs=recorded_statvfs(machine or root.name), **options)


def without_smart(disks: list[dict]) -> list[dict]:
    return [{k: v for k, v in disk.items() if k != "smartAttributes"} for disk in disks]


@pytest.mark.parametrize("machine", MACHINES)
def test_fixture_disks_match_the_hand_checked_expectation(machine):
    expected = json.loads((FIXTURES / machine / "expected" / "perif.disk.json").read_text())
    disks = driver_for(FIXTURES / machine).disks()
    assert disks == without_smart(expected)
    for disk in disks:
        assert list(disk) == DISK_KEYS
        assert all(list(part) == PARTITION_KEYS for part in disk["partitions"])
        # == would accept True for 1 and 1.0 for 1: the types are part of the contract
        assert type(disk["removable"]) is bool and type(disk["sizeBytes"]) is int
        assert all(type(p["usedPercent"]) is float and type(p["readOnly"]) is bool for p in disk["partitions"])


def test_fixture_trees_are_laid_out_like_the_kernel():
    for machine in MACHINES:
        for entry in (FIXTURES / machine / "sys" / "block").iterdir():
            assert entry.is_symlink() and "/devices/" in str(entry.resolve()), entry
        assert (FIXTURES / machine / "proc" / "self").is_symlink()


def test_virtual_and_hidden_and_empty_devices_are_not_disks():
    names = [d["name"] for d in driver_for(FIXTURES / "desktop").disks()]
    # loop0, dm-0/dm-1 (no device link), nvme0c0n1 (hidden multipath path), sr0 (no medium)
    assert names == ["nvme0n1", "sda"]


def test_nvme_under_devices_virtual_is_still_a_disk():
    # native NVMe multipath puts the namespace under devices/virtual/nvme-subsystem
    assert "/devices/virtual/" in str((FIXTURES / "desktop" / "sys" / "block" / "nvme0n1").resolve())
    nvme = driver_for(FIXTURES / "desktop").disks()[0]
    assert nvme["name"] == "nvme0n1" and nvme["model"] == "Samsung SSD 990 PRO 1TB"


def test_emmc_boot_partitions_are_not_separate_disks():
    names = [d["name"] for d in driver_for(FIXTURES / "arm-emmc-usb").disks()]
    assert (FIXTURES / "arm-emmc-usb" / "sys" / "block" / "mmcblk0boot0").exists()
    assert names == ["mmcblk0", "sda"]


def test_root_mounted_as_dev_root_is_found_by_device_number():
    mounts = read_mounts(FIXTURES / "arm-emmc-usb" / "proc" / "self" / "mountinfo")
    assert mounts[0].source == "/dev/root" and mounts[0].devno == "179:2"
    emmc = driver_for(FIXTURES / "arm-emmc-usb").disks()[0]
    assert [p["mountPoint"] for p in emmc["partitions"]] == ["/boot/firmware", "/"]


def test_btrfs_with_an_anonymous_device_number_is_found_by_source(tmp_path):
    root = tmp_path / "desktop"
    shutil.copytree(FIXTURES / "desktop", root, symlinks=True)
    table = (root / "proc" / "self" / "mountinfo").resolve()
    # btrfs gives its mounts anonymous device numbers (0:NN), not the partition's 8:2
    table.write_text(table.read_text().replace("22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2",
                                               "22 1 0:31 /@ / rw,relatime shared:1 - btrfs /dev/sda2"))
    assert "0:31 /@ / " in table.read_text()
    sda = driver_for(root).disks()[1]
    assert [p["mountPoint"] for p in sda["partitions"]] == ["/boot/efi", "/"]


def test_filesystem_on_luks_and_lvm_is_listed_under_its_disk():
    nvme = driver_for(FIXTURES / "desktop").disks()[0]
    assert [p["mountPoint"] for p in nvme["partitions"]] == ["/home", "/srv/data"]


def test_bind_mount_of_a_mounted_filesystem_is_not_counted_twice():
    mounts = read_mounts(FIXTURES / "desktop" / "proc" / "self" / "mountinfo")
    assert "/srv/shared" in [m.mount_point for m in mounts]
    all_points = [p["mountPoint"] for d in driver_for(FIXTURES / "desktop").disks() for p in d["partitions"]]
    assert "/srv/shared" not in all_points


def test_escaped_mount_point_and_read_only_mount():
    stick = driver_for(FIXTURES / "arm-emmc-usb").disks()[1]
    (part,) = stick["partitions"]
    assert part["mountPoint"] == "/media/pi/Holiday Photos" and part["readOnly"] is True


def test_usb_stick_serial_comes_from_the_usb_device_when_there_is_no_vpd_page():
    stick = driver_for(FIXTURES / "arm-emmc-usb").disks()[1]
    assert not list((FIXTURES / "arm-emmc-usb" / "sys" / "block" / "sda" / "device").glob("vpd_pg80"))
    assert stick["serialNumber"] == "4C530001230826112345"
    assert stick["removable"] is True and stick["mediaType"] == "Removable media"


def test_sata_serial_comes_from_the_unit_serial_vpd_page():
    sda = driver_for(FIXTURES / "desktop").disks()[1]
    raw = (FIXTURES / "desktop" / "sys" / "block" / "sda" / "device" / "vpd_pg80").read_bytes()
    assert raw[:2] == b"\x00\x80"
    assert sda["serialNumber"] == "S62ANZ0R123456A"


def test_usb_disk_that_is_not_removable_is_external(tmp_path):
    root = tmp_path / "arm-emmc-usb"
    shutil.copytree(FIXTURES / "arm-emmc-usb", root, symlinks=True)
    (root / "sys" / "block" / "sda" / "removable").write_text("0\n")
    stick = driver_for(root).disks()[1]
    assert stick["removable"] is False and stick["mediaType"] == "External hard disk media"


def test_unmeasurable_mount_is_left_out_not_an_error():
    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    driver = LinuxDiskDriver(FIXTURES / "desktop" / "sys", FIXTURES / "desktop" / "proc" / "self" / "mountinfo",
                             statvfs=denied)
    disks = driver.disks()
    assert len(disks) == 2 and all(d["partitions"] == [] for d in disks)


def test_missing_mount_table_gives_disks_without_partitions(tmp_path):
    driver = LinuxDiskDriver(FIXTURES / "desktop" / "sys", tmp_path / "nowhere", statvfs=recorded_statvfs("desktop"))
    disks = driver.disks()
    assert [d["name"] for d in disks] == ["nvme0n1", "sda"] and all(d["partitions"] == [] for d in disks)


def test_malformed_mount_table_lines_are_skipped(tmp_path):
    table = tmp_path / "mountinfo"
    table.write_text("garbage\n\n22 1 8:2 / / rw - ext4 /dev/sda2 rw\n23 22 8:1 /boot/efi\n")
    assert [m.mount_point for m in read_mounts(table)] == ["/"]


def test_only_virtual_devices_probe_false_unless_configured():
    root = CASES / "virtual-only"
    assert driver_for(root).probe() is False and driver_for(root).disks() == []
    included = driver_for(root, include_virtual=True)
    assert included.probe() is True
    # loop0 is empty (size 0): never a disk
    loop1, zram0 = included.disks()
    assert (loop1["name"], zram0["name"]) == ("loop1", "zram0")
    assert loop1["partitions"] == [{"mountPoint": "/opt/app", "sizeBytes": 102400000, "freeBytes": 0,
                                    "usedBytes": 102400000, "usedPercent": 100.0, "readOnly": True}]


def test_no_block_folder_probes_false(tmp_path):
    assert LinuxDiskDriver(tmp_path / "sys", tmp_path / "mountinfo").probe() is False


def test_disk_unplugged_between_listing_and_reading_is_skipped(tmp_path):
    root = tmp_path / "desktop"
    shutil.copytree(FIXTURES / "desktop", root, symlinks=True)
    driver = driver_for(root)
    assert len(driver.disks()) == 2
    shutil.rmtree((root / "sys" / "block" / "sda").resolve())
    assert [d["name"] for d in driver.disks()] == ["nvme0n1"]


def test_this_machines_own_disks_read_without_error():
    """The real /sys and /proc of the machine running the tests: no crash, sane types."""
    driver = LinuxDiskDriver(Path("/sys"), Path("/proc/self/mountinfo"))
    disks = driver.disks()
    mounted = {m.mount_point for m in read_mounts(Path("/proc/self/mountinfo"))}
    for disk in disks:
        assert list(disk) == DISK_KEYS
        assert os.path.exists(f"/sys/block/{disk['name']}/device")
        assert type(disk["sizeBytes"]) is int and disk["sizeBytes"] > 0
        assert type(disk["physicalBlockSizeBytes"]) is int and disk["physicalBlockSizeBytes"] >= 512
        assert all(type(disk[k]) is str for k in ("vendor", "model", "serialNumber", "firmwareRevision"))
        assert disk["mediaType"] in {"Fixed hard disk media", "External hard disk media", "Removable media"}
        for part in disk["partitions"]:
            assert part["mountPoint"] in mounted
            assert part["usedBytes"] + part["freeBytes"] == part["sizeBytes"]
            assert 0.0 <= part["usedPercent"] <= 100.0
    assert driver.probe() is bool(disks)


# --- io_counters(): /proc/diskstats ---------------------------------------------------------------

# /proc/diskstats as Linux 6.18 printed it on the machine these tests were written on (a KVM guest:
# 17 counters a line since 5.5, with discards and flushes)
DISKSTATS_6_18 = """\
   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   7       1 loop1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 1161114 90313 33762346 800250 2114442 1051141 60002992 445121 0 347496 1376119 1121112 142 43514760 88877 546642 41870
 253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
"""
# the kernel's layout on an edge PC with an older kernel (11 counters before 4.18, 15 before 5.5),
# numbers made up: which names node_exporter's default pattern drops and which it keeps
DISKSTATS_MIXED = """\
   8       0 sda 5021 130 402114 2210 1893 950 88410 4021 0 3120 6231
   8       1 sda1 4900 130 399000 2190 1893 950 88410 4021 0 3100 6211
 259       0 nvme0n1 91230 12 6123456 20100 40100 3 2003400 9100 0 31000 29200 0 0 0 0
 259       1 nvme0n1p1 91000 12 6120000 20000 40100 3 2003400 9100 0 30900 29100 0 0 0 0
 179       0 mmcblk0 3012 20 120450 3300 210 41 9030 1502 0 2900 4802
 179       1 mmcblk0p1 3000 20 120400 3290 210 41 9030 1502 0 2890 4792
 179      32 mmcblk0boot0 4 0 32 1 0 0 0 0 0 1 1
 252       0 dm-0 120 0 960 44 0 0 0 0 0 40 44
   9       0 md0 0 0 0 0 0 0 0 0 0 0 0
   2       0 fd0 1 0 8 20 0 0 0 0 0 20 20
   1       0 ram0 0 0 0 0 0 0 0 0 0 0 0
 202       1 xvda1 1 0 8 1 0 0 0 0 0 1 1
   3       1 hda1 1 0 8 1 0 0 0 0 0 1 1
"""


def test_io_counters_of_a_real_diskstats_in_bytes_and_seconds(tmp_path):
    (tmp_path / "diskstats").write_text(DISKSTATS_6_18)
    driver = LinuxDiskDriver(tmp_path / "sys", tmp_path / "mountinfo", diskstats=tmp_path / "diskstats")
    assert driver.io_counters() == [{
        "device": "vda", "readsCompleted": 1161114, "writesCompleted": 2114442,
        "readBytes": 33762346 * 512, "writtenBytes": 60002992 * 512,  # 512-byte sectors, always
        "readTimeSeconds": 800.25, "writeTimeSeconds": 445.121}]  # loop and zram devices are dropped


def test_io_counters_leave_out_what_node_exporter_leaves_out_by_default():
    found = parse_diskstats(DISKSTATS_MIXED)
    # partitions of sd/hd/xvd/nvme disks, floppies, RAM disks: out; an eMMC's partitions and boot
    # areas, device-mapper and md devices: in, as node_exporter keeps them
    assert [d["device"] for d in found] == ["sda", "nvme0n1", "mmcblk0", "mmcblk0p1", "mmcblk0boot0", "dm-0",
                                            "md0"]
    assert found[1] == {"device": "nvme0n1", "readsCompleted": 91230, "writesCompleted": 40100,
                        "readBytes": 6123456 * 512, "writtenBytes": 2003400 * 512, "readTimeSeconds": 20.1,
                        "writeTimeSeconds": 9.1}


def test_short_or_garbled_diskstats_lines_are_skipped():
    assert parse_diskstats("8 0 sda 1 2 3\n8 16 sdb x 0 0 0 0 0 0 0 0 0 0\n\n") == []


def test_io_counters_are_read_through_the_configured_procfs_root(make_app, tmp_path):
    proc = tmp_path / "proc"
    shutil.copytree(FIXTURES / "desktop" / "proc", proc, symlinks=True)
    (proc / "diskstats").write_text(DISKSTATS_MIXED)
    app = make_app(board="auto", sysfs_root=str(FIXTURES / "desktop" / "sys"), procfs_root=str(proc),
                   plugins={"linux": {"disk": {"rootfs": str(FIXTURES / "desktop" / "rootfs")}}})
    driver = app.extensions["portald"].host.drivers["disk"]
    assert driver.name == "linux.disk"
    assert [d["device"] for d in driver.io_counters()][:2] == ["sda", "nvme0n1"]  # through the threadpool
    (proc / "diskstats").unlink()
    with pytest.raises(OSError):
        driver.io_counters()
    with pytest.raises(OSError):
        LinuxDiskDriver(proc / "sys", proc / "self" / "mountinfo").io_counters()  # none configured


def test_this_machines_io_counters_read_and_grow_never_backwards():
    driver = LinuxDiskDriver(Path("/sys"), Path("/proc/self/mountinfo"), diskstats=Path("/proc/diskstats"))
    first = {d["device"]: d for d in driver.io_counters()}
    assert not any(IGNORED.match(name) for name in first)
    for counters in first.values():
        assert list(counters) == IO_KEYS
        assert all(counters[key] >= 0 for key in IO_KEYS[1:])
    later = {d["device"]: d for d in driver.io_counters()}
    for name in first.keys() & later.keys():
        assert all(later[name][key] >= first[name][key] for key in IO_KEYS[1:]), name
