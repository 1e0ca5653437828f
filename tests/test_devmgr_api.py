"""``GET /platform/api/devmgr`` over kernel-shaped sysfs trees (a desktop PC, a Raspberry Pi 4) and a
trimmed copy of the hwdata id databases; expected lists were checked by hand."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import ADMIN_PASSWORD, FIXTURES, admin_token, bearer, login

DEVMGR = FIXTURES / "machines"
IDS = FIXTURES / "hwdata"
URL = "/platform/api/devmgr"


def _client(make_app, sysfs_root, ids_dir=IDS, **config):
    app = make_app(board="auto", sysfs_root=str(sysfs_root),
                   plugins={"linux": {"devmgr": {"ids_dir": str(ids_dir), **config}}})
    client = app.test_client()
    return client, bearer(admin_token(client))


def _expected(machine: str) -> list[dict]:
    return json.loads((DEVMGR / machine / "expected" / "devmgr.json").read_text())


def _copy(machine: str, tmp_path: Path) -> Path:
    root = tmp_path / machine / "sys"
    shutil.copytree(DEVMGR / machine / "sys", root, symlinks=True)
    return root


def _by_path(devices: list[dict]) -> dict[str, dict]:
    return {d["instancePath"]: d for d in devices}


@pytest.mark.parametrize("machine", ["desktop-q370", "rpi4"])
def test_devices_match_the_hand_checked_list(make_app, machine):
    client, headers = _client(make_app, DEVMGR / machine / "sys")
    response = client.get(URL, headers=headers)
    assert response.status_code == 200
    assert response.get_json() == _expected(machine)


def test_entries_have_the_spec_fields_and_ids_only_for_pci_and_usb(make_app):
    client, headers = _client(make_app, DEVMGR / "desktop-q370" / "sys")
    devices = client.get(URL, headers=headers).get_json()
    assert {d["class"] for d in devices} == {"ACPI", "PLATFORM", "PCI", "USB", "STORAGE", "NET", "INPUT", "SOUND"}
    for device in devices:
        assert list(device)[:3] == ["class", "instancePath", "name"] and list(device)[-1] == "status"
        assert device["status"] in ("running", "stopped")
        assert all(isinstance(device[k], str) and device[k] for k in device)
        if device["class"] in ("PCI", "USB"):
            assert set(device) == {"class", "instancePath", "name", "vendorID", "deviceID", "status"}
            for key in ("vendorID", "deviceID"):
                assert len(device[key]) == 4 and device[key] == device[key].upper()
                int(device[key], 16)
        else:
            assert set(device) == {"class", "instancePath", "name", "status"}


def test_an_os_user_may_list_devices(make_app, os_user_factory):
    app = make_app(board="auto", sysfs_root=str(DEVMGR / "rpi4" / "sys"), plugins={"linux": {"devmgr": {"ids_dir": str(IDS)}}})
    client = app.test_client()
    user = os_user_factory()
    token = login(client, user.name, user.password, m=0).get_json()["token"]
    response = client.get(URL, headers=bearer(token))
    assert response.status_code == 200 and response.get_json() == _expected("rpi4")


def test_devmgr_needs_a_valid_token(make_app):
    client, _ = _client(make_app, DEVMGR / "desktop-q370" / "sys")
    for headers in ({}, bearer("not-a-token"), {"Authorization": "Bearer"}):
        response = client.get(URL, headers=headers)
        assert response.status_code == 401 and response.get_json()["Code"] == 401


@pytest.mark.parametrize("method", ["put", "post", "delete", "patch"])
def test_devmgr_is_read_only(make_app, method):
    client, headers = _client(make_app, DEVMGR / "desktop-q370" / "sys")
    response = getattr(client, method)(URL, json={"class": "PCI"}, headers=headers)
    assert response.status_code == 405 and response.get_json() == {"message": "method not allowed"}


def test_query_string_and_body_on_get_are_ignored(make_app):
    client, headers = _client(make_app, DEVMGR / "rpi4" / "sys")
    response = client.get(f"{URL}?class=PCI&limit=-1&%ff=%00", data=b"\xff\x00{", headers=headers)
    assert response.status_code == 200 and response.get_json() == _expected("rpi4")


@pytest.mark.parametrize("path", ["/", "/PCI", "/..%2f..%2fetc", "/%00"])
def test_paths_below_devmgr_are_404(make_app, path):
    client, headers = _client(make_app, DEVMGR / "rpi4" / "sys")
    response = client.get(URL + path, headers=headers)
    assert response.status_code == 404 and "message" in response.get_json()


def test_empty_sysfs_root_is_404_and_plugin_absent(make_app, tmp_path):
    (tmp_path / "sys").mkdir()
    client, headers = _client(make_app, tmp_path / "sys")
    response = client.get(URL, headers=headers)
    assert response.status_code == 404 and response.get_json()["message"]
    plugins = {p["name"]: p for p in client.get("/platform/api/plugins", headers=headers).get_json()["plugins"]}
    assert plugins["devmgr"]["state"] == "absent"


def test_tree_with_only_software_devices_is_404(make_app, tmp_path):
    root = tmp_path / "sys"
    (root / "devices" / "virtual" / "net" / "lo").mkdir(parents=True)
    (root / "class" / "net").mkdir(parents=True)
    os.symlink("../../devices/virtual/net/lo", root / "class" / "net" / "lo")
    client, headers = _client(make_app, root)
    assert client.get(URL, headers=headers).status_code == 404


def test_unlistable_device_folder_is_422_devmgr_error(make_app, tmp_path):
    root = tmp_path / "sys"
    (root / "bus" / "pci").mkdir(parents=True)
    (root / "bus" / "pci" / "devices").write_text("not a folder")
    client, headers = _client(make_app, root)
    response = client.get(URL, headers=headers)
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"DevMgr": "cannot list bus/pci/devices: Not a directory"}}


def test_one_unlistable_folder_does_not_hide_the_others(make_app, tmp_path):
    root = _copy("rpi4", tmp_path)
    shutil.rmtree(root / "class" / "net")
    (root / "class" / "net").write_text("")
    client, headers = _client(make_app, root)
    response = client.get(URL, headers=headers)
    assert response.status_code == 200
    assert response.get_json() == [d for d in _expected("rpi4") if d["class"] != "NET"]


def test_without_id_databases_names_come_from_sysfs_then_hex_ids(make_app, tmp_path):
    (tmp_path / "no-ids").mkdir()
    client, headers = _client(make_app, DEVMGR / "desktop-q370" / "sys", ids_dir=tmp_path / "no-ids")
    devices = _by_path(client.get(URL, headers=headers).get_json())
    pci, usb = "/devices/pci0000:00", "/devices/pci0000:00/0000:00:14.0/usb1"
    assert devices[f"{pci}/0000:00:1f.6"]["name"] == "8086:15bc"
    assert devices[f"{pci}/0000:00:1c.0/0000:02:00.0"]["name"] == "Onboard - RTK Ethernet"  # SMBIOS label
    assert devices[f"{usb}/1-3"]["name"] == "Logitech USB Receiver"  # manufacturer + product strings
    assert devices[f"{usb}/1-4/1-4.3"]["name"] == "0bda:0129"  # no strings at all
    assert devices[f"{usb}/1-4/1-4.3"]["vendorID"] == "0BDA"
    # everything else is unchanged by the missing databases
    expected = _by_path(_expected("desktop-q370"))
    assert {p: d["status"] for p, d in devices.items()} == {p: d["status"] for p, d in expected.items()}


def test_id_databases_are_parsed_once_per_daemon_run(make_app, tmp_path):
    ids = tmp_path / "ids"
    shutil.copytree(IDS, ids)
    client, headers = _client(make_app, DEVMGR / "rpi4" / "sys", ids_dir=ids)
    first = client.get(URL, headers=headers).get_json()
    for name in ("pci.ids", "usb.ids"):
        (ids / name).write_text("8086  Changed Vendor\n\t2711  Changed Device\n")
    assert client.get(URL, headers=headers).get_json() == first == _expected("rpi4")
    next_run = make_app(board="auto", sysfs_root=str(DEVMGR / "rpi4" / "sys"),
                        plugins={"linux": {"devmgr": {"ids_dir": str(ids)}}}).test_client()
    token = login(next_run, "admin", ADMIN_PASSWORD).get_json()["token"]  # same state dir as the first run
    renamed = _by_path(next_run.get(URL, headers=bearer(token)).get_json())
    assert renamed["/devices/platform/scb/fd500000.pcie/pci0000:00/0000:00:00.0"]["name"] == "14e4:2711"


def test_unplugged_device_disappears_on_the_next_request(make_app, tmp_path):
    root = _copy("desktop-q370", tmp_path)
    client, headers = _client(make_app, root)
    gone = "/devices/pci0000:00/0000:00:14.0/usb1/1-4/1-4.4"
    assert gone in _by_path(client.get(URL, headers=headers).get_json())
    # on unplug the kernel drops the bus link before the device folder; a reader can see this state
    (root / "bus" / "usb" / "devices" / "1-4.4").unlink()
    after = _by_path(client.get(URL, headers=headers).get_json())
    assert gone not in after and len(after) == len(_expected("desktop-q370")) - 1


@pytest.mark.parametrize("section", [{"ids_dir": 5}, {"ids_dir": ""}, {"ids_dir": ["/x"]}, {"idsdir": "/x"}])
def test_bad_driver_settings_skip_the_driver_not_the_daemon(make_app, section):
    app = make_app(board="auto", sysfs_root=str(DEVMGR / "rpi4" / "sys"), plugins={"linux": {"devmgr": section}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    plugins = {p["name"]: p for p in client.get("/platform/api/plugins", headers=headers).get_json()["plugins"]}
    assert plugins["linux"]["state"] == "failed" and list(section)[0] in plugins["linux"]["reason"]
    assert plugins["devmgr"]["state"] == "absent"
    assert client.get(URL, headers=headers).status_code == 404
    assert client.get("/platform/api/ping").status_code == 200


def test_profile_has_no_devmgr_key(make_app):
    client, headers = _client(make_app, DEVMGR / "desktop-q370" / "sys")
    profile = client.get("/edgehub/api/profile", headers=headers).get_json()
    assert profile and not any("devmgr" in key or "devices" in key for key in profile)


def test_sim_board_lists_its_virtual_devices(client, admin_headers, app):
    response = client.get(URL, headers=admin_headers)
    assert response.status_code == 200
    devices = response.get_json()
    assert {"PCI", "USB", "STORAGE", "NET"} <= {d["class"] for d in devices}
    assert all(set(d) >= {"class", "instancePath", "name", "status"} for d in devices)
    assert all(("vendorID" in d) == (d["class"] in ("PCI", "USB")) for d in devices)
    assert app.extensions["portald"].host.status()["drivers"]["devmgr"]["driver"] == "sim.devmgr"
