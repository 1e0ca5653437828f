"""``/platform/api/perif/disk`` and ``/perif/disk/partition`` (JSON and SSE), the ``diskdrives`` event and
the ``perif:disk`` profile key, over the sim board and over kernel-shaped fixture machines.

On fixture machines smartctl is the stand-in that replays recorded reports, and mount points are looked
up under a temporary ``rootfs`` (the fixture's mount points do not exist on this machine): their usage
numbers are then those of the temporary folder's filesystem, so only their consistency is checked here;
the exact numbers are checked in test_disk_linux.py.
"""
from __future__ import annotations

import json
import os
import sys
import time

import gevent
import pytest

from conftest import FIXTURES, admin_token, bearer, sse_frames

DISKS = FIXTURES / "machines"
FAKE_SMARTCTL = [sys.executable, str(FIXTURES / "smartctl" / "fake_smartctl.py")]
SSE = {"Accept": "text/event-stream"}
DISK_KEYS = ["name", "sizeBytes", "physicalBlockSizeBytes", "removable", "vendor", "model", "serialNumber",
             "firmwareRevision", "mediaType", "partitions", "smartAttributes"]
PARTITION_KEYS = ["mountPoint", "sizeBytes", "freeBytes", "usedBytes", "usedPercent", "readOnly"]
USAGE = ("sizeBytes", "freeBytes", "usedBytes", "usedPercent")


def linux_app(make_app, tmp_path, machine: str, disk=None, **linux_disk):
    """An app on a fixture machine, its mount points created under a temporary rootfs; ``disk`` is the
    ``[plugins.disk]`` table, the keywords the ``[plugins.linux.disk]`` table."""
    rootfs = tmp_path / "rootfs"
    for point in json.loads((DISKS / machine / "statvfs.json").read_text()):
        (rootfs / point.lstrip("/")).mkdir(parents=True, exist_ok=True)
    config = {"smartctl": [*FAKE_SMARTCTL, str(DISKS / machine / "smartctl")], "rootfs": str(rootfs),
              **linux_disk}
    return make_app(board="auto", sysfs_root=str(DISKS / machine / "sys"),
                    procfs_root=str(DISKS / machine / "proc"), plugins={"disk": disk or {}, "linux": {"disk": config}})


def logged_in(app):
    client = app.test_client()
    return client, bearer(admin_token(client))


def get_until(client, headers, done, path="/platform/api/perif/disk", timeout=5.0):
    """GET until ``done(json)``: S.M.A.R.T. fills in in the background, after the first answer."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(path, headers=headers)
        if response.status_code == 200 and done(response.get_json()):
            return response.get_json()
        assert time.monotonic() < deadline, response.get_json()
        gevent.sleep(0.05)


def check_usage(part: dict) -> None:
    assert list(part) == PARTITION_KEYS
    assert part["usedBytes"] + part["freeBytes"] == part["sizeBytes"] > 0
    assert abs(part["usedPercent"] - part["usedBytes"] / part["sizeBytes"] * 100) < 1e-9


# --- the sim board -------------------------------------------------------------------------------------

def test_sim_disk_has_the_spec_shape_and_smart_attributes(client, admin_headers):
    disks = get_until(client, admin_headers, lambda data: data[0]["smartAttributes"])
    (disk,) = disks
    assert list(disk) == DISK_KEYS
    assert disk["name"] == "sda" and disk["sizeBytes"] == 64023257088 and disk["removable"] is False
    assert disk["mediaType"] == "Fixed hard disk media"
    (root,) = disk["partitions"]
    assert root["mountPoint"] == "/" and root["readOnly"] is False
    check_usage(root)
    ids = [a["id"] for a in disk["smartAttributes"]]
    assert {5, 9, 12, 194} <= set(ids)
    for attribute in disk["smartAttributes"]:
        assert list(attribute) == ["id", "name", "statusFlags", "value", "worst", "threshold", "rawData"]
        assert len(attribute["rawData"]) == 6 and all(type(b) is int for b in attribute["rawData"])


def test_sim_partition_endpoint_is_the_disks_partitions(client, admin_headers):
    disks = client.get("/platform/api/perif/disk", headers=admin_headers).get_json()
    response = client.get("/platform/api/perif/disk/partition", headers=admin_headers)
    assert response.status_code == 200
    assert response.get_json() == disks[0]["partitions"]


def test_disk_endpoints_need_a_token(client):
    for path in ("/platform/api/perif/disk", "/platform/api/perif/disk/partition"):
        response = client.get(path)
        assert response.status_code == 401 and response.get_json()["Code"] == 401, path
    response = client.get("/platform/api/perif/disk", headers=SSE)
    assert response.status_code == 401 and response.get_json()["Code"] == 401


def test_disk_endpoints_reject_writes(client, admin_headers):
    assert client.put("/platform/api/perif/disk", json={}, headers=admin_headers).status_code == 405
    assert client.delete("/platform/api/perif/disk/partition", headers=admin_headers).status_code == 405


def test_profile_says_disk_on_the_sim_board(client, admin_headers):
    assert client.get("/edgehub/api/profile", headers=admin_headers).get_json()["perif:disk"] == 1


def test_disks_come_from_one_shared_sampler(app, client, admin_headers):
    for _ in range(20):
        assert client.get("/platform/api/perif/disk", headers=admin_headers).status_code == 200
        assert client.get("/platform/api/perif/disk/partition", headers=admin_headers).status_code == 200
    disks = app.extensions["portald"].host.memos["disk"]["disks"]
    assert disks.sampler.running and disks.sampler.collections <= 2
    assert disks.smart.readings <= 1


# --- streams ---------------------------------------------------------------------------------------

def test_per_resource_stream_sends_message_events_with_the_get_json(client, admin_headers):
    plain = client.get("/platform/api/perif/disk", headers=admin_headers).get_json()
    response = client.get("/platform/api/perif/disk", headers={**admin_headers, **SSE}, buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    (name, data), = sse_frames(response, 1)
    response.close()
    assert name == "message"
    streamed = json.loads(data)
    assert [list(d) for d in streamed] == [DISK_KEYS]
    assert streamed[0]["serialNumber"] == plain[0]["serialNumber"]


def test_events_stream_carries_diskdrives(client, admin_headers):
    token = admin_headers["Authorization"].split()[1]
    response = client.get(f"/platform/api/events?events=diskdrives&token={token}", headers=SSE, buffered=False)
    assert response.status_code == 200
    (name, data), = sse_frames(response, 1)
    response.close()
    assert name == "diskdrives"
    assert [d["name"] for d in json.loads(data)] == ["sda"]


# --- fixture machines ------------------------------------------------------------------------------

def test_desktop_served_as_read_from_sysfs_with_recorded_smart(make_app, tmp_path):
    client, headers = logged_in(linux_app(make_app, tmp_path, "desktop"))
    expected = json.loads((DISKS / "desktop" / "expected" / "perif.disk.json").read_text())
    disks = get_until(client, headers, lambda data: all(d["smartAttributes"] for d in data))
    assert [list(d) for d in disks] == [DISK_KEYS] * 2

    def static(disk_list):  # everything but the usage numbers, which come from tmp_path's filesystem
        return [{**d, "partitions": [{k: v for k, v in p.items() if k not in USAGE} for p in d["partitions"]]}
                for d in disk_list]

    assert static(disks) == static(expected)
    for disk in disks:
        for part in disk["partitions"]:
            check_usage(part)
            assert part["sizeBytes"] == os.statvfs(tmp_path).f_blocks * os.statvfs(tmp_path).f_frsize


def test_arm_board_partition_list_flattens_every_disk_in_order(make_app, tmp_path):
    client, headers = logged_in(linux_app(make_app, tmp_path, "arm-emmc-usb"))
    response = client.get("/platform/api/perif/disk/partition", headers=headers)
    assert response.status_code == 200
    parts = response.get_json()
    assert [(p["mountPoint"], p["readOnly"]) for p in parts] == [
        ("/boot/firmware", False), ("/", False), ("/media/pi/Holiday Photos", True)]
    disks = get_until(client, headers, lambda data: True)
    assert [d["smartAttributes"] for d in disks] == [[], []]  # eMMC and USB bridge: no S.M.A.R.T.


def test_no_disk_is_not_supported_everywhere(make_app, tmp_path):
    client, headers = logged_in(linux_app(make_app, tmp_path, "../cases/virtual-only"))
    for path in ("/platform/api/perif/disk", "/platform/api/perif/disk/partition"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404 and response.get_json()["message"], path
    assert client.get("/platform/api/perif/disk", headers={**headers, **SSE}).status_code == 404
    assert client.get("/edgehub/api/profile", headers=headers).get_json()["perif:disk"] == 0
    plugins = client.get("/platform/api/plugins", headers=headers).get_json()
    assert "disk" not in plugins["drivers"]


def test_disks_with_nothing_mounted_have_no_partition_list(make_app, tmp_path):
    app = linux_app(make_app, tmp_path, "desktop", rootfs=str(tmp_path / "empty-root"))
    client, headers = logged_in(app)
    disks = client.get("/platform/api/perif/disk", headers=headers)
    assert disks.status_code == 200 and all(d["partitions"] == [] for d in disks.get_json())
    response = client.get("/platform/api/perif/disk/partition", headers=headers)
    assert response.status_code == 404 and response.get_json()["message"]


def test_requests_never_wait_for_a_hanging_smartctl(make_app, tmp_path):
    hang = [sys.executable, "-c", "import time; time.sleep(30)"]
    client, headers = logged_in(linux_app(make_app, tmp_path, "desktop", smartctl=hang, smart_timeout_seconds=20))
    for _ in range(5):
        started = time.monotonic()
        response = client.get("/platform/api/perif/disk", headers=headers)
        assert time.monotonic() - started < 1.0
        assert response.status_code == 200 and [d["smartAttributes"] for d in response.get_json()] == [[], []]
        gevent.sleep(0.1)


def test_bad_disk_settings_fail_the_plugin_with_the_reason(make_app, tmp_path):
    app = linux_app(make_app, tmp_path, "desktop", disk={"interval_seconds": "often", "smart_interval_seconds": -1})
    record = app.extensions["portald"].host.records["disk"]
    assert record.state == "failed"
    assert "interval_seconds" in record.reason and "smart_interval_seconds" in record.reason


@pytest.mark.parametrize("config", [
    {"smart_timeout_seconds": True},
    {"smartctl": "smartctl --json", "include_virtual": "yes", "rootfs": 5},
    {"smartctl": []},
])
def test_bad_linux_disk_settings_skip_the_driver_with_the_reason(make_app, tmp_path, config):
    app = linux_app(make_app, tmp_path, "desktop", **config)
    client, headers = logged_in(app)
    assert client.get("/platform/api/perif/disk", headers=headers).status_code == 404
    reason = app.extensions["portald"].host.records["linux"].reason
    assert "boards.linux.disk" in reason and all(key in reason for key in config)
    assert client.get("/platform/api/ping").status_code == 200
