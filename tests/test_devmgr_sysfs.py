"""The devmgr hardware module alone: sysfs walking rules, status rules, id-database parsing, and one
run against this machine's real /sys."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from conftest import FIXTURES

from portald.config import Config
from portald_plugins.boards.linux.devmgr_names import DEFAULT_IDS_DIRS, IdsDatabase, parse_ids
from portald_plugins.boards.linux.devmgr import SysfsDevices

DEVMGR = FIXTURES / "machines"
DESKTOP = "/devices/pci0000:00"


def _read(root: Path, ids_dir: Path = FIXTURES / "hwdata") -> dict[str, dict]:
    return {d["instancePath"]: d for d in SysfsDevices(root, IdsDatabase([str(ids_dir)])).read()}


def _copy(machine: str, tmp_path: Path) -> Path:
    root = tmp_path / "sys"
    shutil.copytree(DEVMGR / machine / "sys", root, symlinks=True)
    return root


def _device(root: Path, devpath: str, listed_in: str, **files) -> Path:
    """A device folder at ``root/devpath`` listed by a relative symlink in ``root/listed_in``."""
    folder = root / devpath
    folder.mkdir(parents=True)
    for name, value in files.items():
        (folder / name).write_text(value + "\n")
    (root / listed_in).mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(folder, root / listed_in), root / listed_in / folder.name)
    return folder


def test_software_devices_in_the_fixture_are_left_out():
    root = DEVMGR / "desktop-q370" / "sys"
    listed = [p for name in ("block", "net", "input", "sound") for p in (root / "class" / name).iterdir()]
    virtual = [p for p in listed if "/devices/virtual/" in os.readlink(p)]
    assert {p.name for p in virtual} == {"lo", "loop0", "seq", "input7"}
    assert not any(path.startswith("/devices/virtual/") for path in _read(root))


def test_usb_interfaces_and_input_and_sound_nodes_are_not_devices():
    root = DEVMGR / "desktop-q370" / "sys"
    devices = _read(root).values()
    assert any(":" in p.name for p in (root / "bus" / "usb" / "devices").iterdir())
    assert [d["instancePath"].rsplit("/", 1)[1] for d in devices if d["class"] == "USB"] == [
        "usb1", "1-3", "1-4", "1-4.2", "1-4.3", "1-4.4", "usb2"]
    assert sorted(d["instancePath"].rsplit("/", 1)[1] for d in devices if d["class"] == "INPUT") == [
        "input0", "input1", "input3", "input5"]
    assert [d["name"] for d in devices if d["class"] == "SOUND"] == ["PCH"]


def test_acpi_nodes_without_hid_only_address_pci_slots_and_are_skipped():
    root = DEVMGR / "desktop-q370" / "sys"
    paths = _read(root)
    assert (root / "bus" / "acpi" / "devices" / "device:1f").exists()
    assert not any(p.rsplit("/", 1)[1].startswith("device:") for p in paths)


def test_acpi_node_status_follows_its_physical_device(tmp_path):
    root = _copy("desktop-q370", tmp_path)
    keyboard = "/devices/LNXSYSTM:00/LNXSYBUS:00/PNP0A08:00/device:1f/PNP0303:00"
    assert _read(root)[keyboard]["status"] == "running"
    (root / "devices" / "pnp0" / "00:02" / "driver").unlink()  # echo 00:02 > .../i8042 kbd/unbind
    assert _read(root)[keyboard]["status"] == "stopped"


def test_class_devices_take_the_status_of_the_driver_that_registered_them(tmp_path):
    root = _copy("desktop-q370", tmp_path)
    nvme = f"{DESKTOP}/0000:00:1d.0/0000:03:00.0"
    namespace, partition = f"{nvme}/nvme/nvme0/nvme0n1", f"{nvme}/nvme/nvme0/nvme0n1/nvme0n1p1"
    before = _read(root)
    assert {before[p]["status"] for p in (nvme, namespace, partition)} == {"running"}
    (root / nvme.lstrip("/") / "driver").unlink()
    after = _read(root)
    assert {after[p]["status"] for p in (nvme, namespace, partition)} == {"stopped"}
    assert after[f"{DESKTOP}/0000:00:1f.6/net/eno1"]["status"] == "running"


def test_order_compares_hex_and_decimal_numbers_by_value(tmp_path):
    root = tmp_path / "sys"
    for index in (10, 2, 1):
        _device(root, f"devices/platform/i8042/serio{index}/input/input{index}", "class/input",
                name=f"keyboard {index}")
    for slot in ("1c", "10", "02", "0a"):
        _device(root, f"devices/pci0000:00/0000:00:{slot}.0", "bus/pci/devices", vendor="0x8086", device="0x0001")
    order = [path.rsplit("/", 1)[1] for path in _read(root)]
    assert order == ["0000:00:02.0", "0000:00:0a.0", "0000:00:10.0", "0000:00:1c.0", "input1", "input2", "input10"]


def test_unreadable_id_files_keep_the_device_without_ids(tmp_path):
    root = tmp_path / "sys"
    _device(root, "devices/pci0000:00/0000:00:1f.0", "bus/pci/devices", vendor="garbage")
    (device,) = _read(root).values()
    assert device == {"class": "PCI", "instancePath": "/devices/pci0000:00/0000:00:1f.0",
                      "name": "0000:00:1f.0", "status": "stopped"}


def test_links_that_leave_the_root_or_are_not_links_are_ignored(tmp_path):
    root = tmp_path / "sys"
    (root / "bus" / "pci" / "devices" / "0000:00:00.0").mkdir(parents=True)
    (root / "class" / "net").mkdir(parents=True)
    os.symlink("../../../outside/eth9", root / "class" / "net" / "eth9")
    assert _read(root) == {}
    assert SysfsDevices(root, IdsDatabase([])).probe()


def test_probe_is_false_without_any_device_folder(tmp_path):
    assert not SysfsDevices(tmp_path, IdsDatabase([])).probe()
    assert SysfsDevices(DEVMGR / "rpi4" / "sys", IdsDatabase([])).probe()


def test_parse_ids_keeps_vendors_and_devices_only():
    text = ("# 8086  Commented Vendor\n"
            "8086  Intel Corporation\n"
            "\t1237  440FX - 82441FX PMC [Natoma]\n"
            "\t\t1af4 1100  Qemu virtual machine\n"
            "# interleaved comment\n"
            "\t7000  82371SB PIIX3 ISA [Natoma/Triton II]\n"
            "80ee  InnoTek Systemberatung GmbH\n"
            "C 0c  Serial bus controller\n"
            "\t0003  a class line that looks like a device\n"
            "L 0001  Arabic\n"
            "\t01  Saudi Arabia\n")
    vendors, devices = parse_ids(text)
    assert vendors == {"8086": "Intel Corporation", "80ee": "InnoTek Systemberatung GmbH"}
    assert devices == {("8086", "1237"): "440FX - 82441FX PMC [Natoma]",
                       ("8086", "7000"): "82371SB PIIX3 ISA [Natoma/Triton II]"}


def test_trimmed_id_fixtures_parse_like_the_real_format():
    ids = IdsDatabase([str(FIXTURES / "hwdata")])
    assert ids.lookup("pci", "8086", "3E92") == ("Intel Corporation", "CoffeeLake-S GT2 [UHD Graphics 630]")
    assert ids.lookup("pci", "10ec", "8168") == ("Realtek Semiconductor Co., Ltd.", None)
    assert ids.lookup("usb", "2109", "0100") == ("VIA Labs, Inc.", None)  # a usb.ids "L" line is no device
    assert ids.lookup("usb", "1a2c", "2124") == (None, None)


def test_missing_id_files_are_a_fallback_not_an_error(tmp_path):
    assert IdsDatabase([str(tmp_path), str(tmp_path / "nope")]).lookup("pci", "8086", "3e92") == (None, None)


def test_real_sysfs_of_this_machine_reads_with_sane_types():
    driver = SysfsDevices(Config().sysfs_root, IdsDatabase(DEFAULT_IDS_DIRS))  # the daemon's default root
    started = time.monotonic()
    devices = driver.read()
    elapsed = time.monotonic() - started
    assert isinstance(devices, list) and devices, "this machine's sysfs lists no device"
    paths = [d["instancePath"] for d in devices]
    assert len(paths) == len(set(paths))
    for device in devices:
        assert device["class"] in {"ACPI", "PLATFORM", "PCI", "USB", "STORAGE", "NET", "INPUT", "SOUND"}
        assert device["instancePath"].startswith("/devices/") and not device["instancePath"].startswith(
            "/devices/virtual/")
        assert isinstance(device["name"], str) and device["name"]
        assert device["status"] in ("running", "stopped")
        if device["class"] in ("PCI", "USB"):
            assert len(device["vendorID"]) == 4 and int(device["vendorID"], 16) >= 0
    assert elapsed < 5, f"reading /sys took {elapsed:.1f} s"
