"""``GET /platform/api/host/info`` over kernel-shaped fixture trees, the sim board and this machine.

Fixture trees under ``tests/fixtures/machines/<machine>`` are laid out as the kernel lays them out
(``sys/class/dmi/id`` a symlink into ``sys/devices/virtual/dmi/id``; ``proc/stat``, ``proc/uptime``,
``proc/sys/kernel/{hostname,random/boot_id}``) plus the machine's ``etc/machine-id``.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ADMIN_PASSWORD, FIXTURES, admin_token, bearer, login

SPEC_FIELDS = {  # field -> type, from the spec's example
    "biosSerialNumber": str, "biosUUID": str, "biosVersion": str, "bootCount": int, "bootTime": int,
    "deviceName": str, "dockerVersion": str, "ecVersion": str, "hostid": str, "hostname": str,
    "imageVersion": str, "kernelArch": str, "os": str, "platform": str, "releaseDate": str, "upTime": int,
}
UNO = FIXTURES / "machines" / "uno-2484g"
ARM = FIXTURES / "machines" / "imx8-gateway"
NO_DOCKER = "portald-test-no-such-docker"


def _os_pretty_name() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        key, _, value = line.strip().partition("=")
        if key == "PRETTY_NAME":
            return value.strip('"')
    return ""


def _client(make_app, restarted=False, **overrides):
    app = make_app(**overrides)
    client = app.test_client()
    if restarted:  # the state dir already holds the changed admin password
        return app, client, bearer(login(client, "admin", ADMIN_PASSWORD).get_json()["token"])
    return app, client, bearer(admin_token(client))


def _info(client, headers) -> dict:
    response = client.get("/platform/api/host/info", headers=headers)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert set(data) == set(SPEC_FIELDS)
    for field, kind in SPEC_FIELDS.items():
        assert type(data[field]) is kind, (field, data[field])
    return data


def _machine(make_app, tree, procfs=None, restarted=False, **host):
    settings = {"machine_id_file": str(tree / "etc" / "machine-id"),
                "image_version_file": str(tree / "etc" / "image-version"), "docker_command": NO_DOCKER, **host}
    return _client(make_app, restarted, board="auto", sysfs_root=str(tree / "sys"), procfs_root=str(procfs or tree / "proc"),
                   plugins={"linux": {"host": settings}})


def _copy_proc(tmp_path, tree=UNO):
    proc = tmp_path / "proc"
    shutil.copytree(tree / "proc", proc)
    return proc


def _new_boot(proc, boot_id: str) -> None:
    (proc / "sys" / "kernel" / "random" / "boot_id").write_text(boot_id + "\n")


def test_dmi_machine_info_has_every_spec_field_read_from_its_files(make_app):
    _, client, headers = _machine(make_app, UNO)
    assert _info(client, headers) == {
        "biosSerialNumber": "Default string",
        "biosUUID": "03000200-0400-0500-0006-000700080009",
        "biosVersion": "N/A",
        "bootCount": 1,
        "bootTime": 1619413851,
        "deviceName": "UNO-2484G-673xAE",
        "dockerVersion": "",
        "ecVersion": "",
        "hostid": "d6d6752c-a6d4-4d02-96b1-96e2d3a8d2b2",
        "hostname": "UNO-2484G-673xA",
        "imageVersion": "6.04 Build 005",
        "kernelArch": os.uname().machine,
        "os": "linux",
        "platform": _os_pretty_name(),
        "releaseDate": "01/23/2019",
        "upTime": 851779,
    }


def test_serial_falls_back_to_the_board_serial(make_app, tmp_path):
    sys_root = tmp_path / "sys"
    shutil.copytree(UNO / "sys", sys_root, symlinks=True)
    (sys_root / "devices" / "virtual" / "dmi" / "id" / "product_serial").unlink()
    _, client, headers = _client(make_app, board="auto", sysfs_root=str(sys_root), procfs_root=str(UNO / "proc"))
    assert _info(client, headers)["biosSerialNumber"] == "AKB1234567"


def test_board_without_dmi_has_empty_bios_fields_and_still_its_uptime(make_app, tmp_path):
    _, client, headers = _client(make_app, board="auto", sysfs_root=str(tmp_path / "no-sys"),
                                 procfs_root=str(ARM / "proc"),
                                 plugins={"linux": {"host": {"machine_id_file": str(tmp_path / "absent"),
                                                             "docker_command": NO_DOCKER}}})
    data = _info(client, headers)
    for field in ("biosSerialNumber", "biosUUID", "biosVersion", "deviceName", "ecVersion", "releaseDate",
                  "hostid", "imageVersion", "dockerVersion"):
        assert data[field] == "", field
    assert data["hostname"] == "imx8-gateway"
    assert data["bootTime"] == 1764100000 and data["upTime"] == 42 and data["bootCount"] == 1


def test_sim_board_gives_its_identity_and_ec_version(client, admin_headers):
    data = _info(client, admin_headers)
    assert data["deviceName"] == "SIM-EDGE-1000"
    assert data["biosUUID"] == "5d1f3c2e-0000-4000-8000-000000000001"
    assert data["ecVersion"] == "1.02"


def test_malformed_machine_id_is_an_empty_hostid(make_app, tmp_path):
    machine_id = tmp_path / "machine-id"
    machine_id.write_text("uninitialized\n")
    _, client, headers = _machine(make_app, UNO, machine_id_file=str(machine_id))
    assert _info(client, headers)["hostid"] == ""


def test_boot_counted_once_per_boot_id_across_daemon_restarts(make_app, tmp_path):
    proc = _copy_proc(tmp_path)
    counts = []
    boots = ("2f0e4b6a-5c1d-4e7f-9a3b-8c2d1e0f4a5b",) * 2 + ("b7a9f3d0-0d58-4f4c-b2c7-52c8e2e9a001",) * 2
    for run, boot_id in enumerate(boots):
        _new_boot(proc, boot_id)
        app, client, headers = _machine(make_app, UNO, procfs=proc, restarted=run > 0)
        counts.append(_info(client, headers)["bootCount"])
        app.extensions["portald"].shutdown()
    assert counts == [1, 1, 2, 2]
    record = json.loads((tmp_path / "state" / "plugins" / "host" / "boot.json").read_text())
    assert record == {"bootCount": 2, "bootId": "b7a9f3d0-0d58-4f4c-b2c7-52c8e2e9a001"}


def test_boot_counter_survives_a_corrupt_state_file(make_app, tmp_path):
    proc = _copy_proc(tmp_path)
    state = tmp_path / "state" / "plugins" / "host"
    state.mkdir(parents=True)
    (state / "boot.json").write_text('{"bootCount": 4')
    _, client, headers = _machine(make_app, UNO, procfs=proc)
    assert _info(client, headers)["bootCount"] == 1


def test_unreadable_boot_id_counts_nothing_and_does_not_fail(make_app, tmp_path):
    proc = _copy_proc(tmp_path)
    (proc / "sys" / "kernel" / "random" / "boot_id").unlink()
    _, client, headers = _machine(make_app, UNO, procfs=proc)
    assert _info(client, headers)["bootCount"] == 0
    assert not (tmp_path / "state" / "plugins" / "host" / "boot.json").exists()


def test_docker_version_is_the_clients_answer(make_app):
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client on this machine")
    expected = subprocess.run([docker, "--version"], capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
    _, client, headers = _machine(make_app, UNO, docker_command="docker")
    assert _info(client, headers)["dockerVersion"] == expected
    assert expected.startswith("Docker version ")


def test_docker_version_is_asked_once_per_daemon_run(make_app, tmp_path):
    calls = tmp_path / "calls"
    fake = tmp_path / "docker"
    fake.write_text(f"#!/bin/sh\necho x >> {calls}\necho 'Docker version 24.0.7, build afdd53b'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    _, client, headers = _machine(make_app, UNO, docker_command=str(fake))
    for _ in range(3):
        assert _info(client, headers)["dockerVersion"] == "Docker version 24.0.7, build afdd53b"
    assert calls.read_text().count("x") == 1


def test_failing_docker_client_gives_an_empty_version(make_app, tmp_path):
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect' >&2\nexit 1\n")
    fake.chmod(0o755)
    _, client, headers = _machine(make_app, UNO, docker_command=str(fake))
    assert _info(client, headers)["dockerVersion"] == ""


def test_this_machines_real_sys_and_proc(make_app):
    _, client, headers = _client(make_app, board="auto", sysfs_root="/sys", procfs_root="/proc")
    data = _info(client, headers)
    assert data["hostname"] == socket.gethostname()
    assert data["os"] == platform.system().lower() and data["kernelArch"] == os.uname().machine
    assert data["bootCount"] == 1
    assert data["upTime"] > 0
    assert abs(time.time() - data["upTime"] - data["bootTime"]) < 5
    machine_id = Path("/etc/machine-id")
    if machine_id.exists():
        assert data["hostid"].replace("-", "") == machine_id.read_text().strip()


def test_misspelt_setting_fails_the_host_plugin_not_the_daemon(make_app):
    app, client, headers = _client(make_app, plugins={"host": {"dispaly": ":0"}})
    status = {p["name"]: p for p in app.extensions["portald"].host.status()["plugins"]}
    assert status["host"]["state"] == "failed" and "dispaly" in status["host"]["reason"]
    assert client.get("/platform/api/host/info", headers=headers).status_code == 404
    assert client.get("/platform/api/ping").status_code == 200


def test_host_info_needs_a_token(client):
    response = client.get("/platform/api/host/info")
    assert response.status_code == 401 and response.get_json()["Code"] == 401


def test_host_info_is_read_only(client, admin_headers):
    assert client.put("/platform/api/host/info", json={}, headers=admin_headers).status_code == 405
