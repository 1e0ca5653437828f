"""``/platform/api/hwmon*`` over the sim board and over kernel-shaped fixture trees."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES, admin_token, bearer, write_dropin

UNITS = {"temperature": "Celsius", "voltage": "Volt", "current": "A", "fanspeed": "RPM"}
PATHS = {"temperatures": "temperature", "voltages": "voltage", "currents": "current", "fanspeeds": "fanspeed"}


def _linux_client(make_app, tree: str):
    app = make_app(board="auto", sysfs_root=str(FIXTURES / tree / "sys"))
    client = app.test_client()
    return client, bearer(admin_token(client))


def test_sim_hwmon_has_the_spec_sensors_and_units(client, admin_headers):
    response = client.get("/platform/api/hwmon", headers=admin_headers)
    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == set(UNITS)
    for kind, readings in data.items():
        assert readings, kind
        for reading in readings:
            assert set(reading) == {"name", "value", "unit"}
            assert reading["unit"] == UNITS[kind]
            assert isinstance(reading["value"], (int, float)) and not isinstance(reading["value"], bool)
    names = {kind: [r["name"] for r in readings] for kind, readings in data.items()}
    assert names["temperature"] == ["CPU"]
    assert names["voltage"] == ["VCore", "12V", "5V Standby", "CMOS Battery"]
    assert names["current"] == ["OEM0"] and names["fanspeed"] == ["FAN0"]


@pytest.mark.parametrize("path,kind", PATHS.items())
def test_each_kind_endpoint_is_a_list_of_that_kind(client, admin_headers, path, kind):
    response = client.get(f"/platform/api/hwmon/{path}", headers=admin_headers)
    assert response.status_code == 200
    readings = response.get_json()
    assert isinstance(readings, list) and readings
    assert all(r["unit"] == UNITS[kind] for r in readings)


def test_linux_desktop_fixture_served_as_read_from_sysfs(make_app):
    client, headers = _linux_client(make_app, "machines/desktop-q370")
    expected = json.loads((FIXTURES / "machines" / "desktop-q370" / "expected" / "hwmon.json").read_text())
    assert client.get("/platform/api/hwmon", headers=headers).get_json() == expected
    assert client.get("/platform/api/hwmon/voltages", headers=headers).get_json() == expected["voltage"]


def test_thermal_only_board_has_temperatures_and_404_for_the_rest(make_app):
    client, headers = _linux_client(make_app, "machines/arm-soc-thermal")
    assert client.get("/platform/api/hwmon", headers=headers).status_code == 200
    assert client.get("/platform/api/hwmon/temperatures", headers=headers).status_code == 200
    for path in ("voltages", "currents", "fanspeeds"):
        response = client.get(f"/platform/api/hwmon/{path}", headers=headers)
        assert response.status_code == 404 and response.get_json()["message"], path


def test_no_hwmon_hardware_is_404_everywhere(make_app):
    client, headers = _linux_client(make_app, "cases/empty")
    for path in ["", *(f"/{p}" for p in PATHS)]:
        assert client.get(f"/platform/api/hwmon{path}", headers=headers).status_code == 404, path


def test_readings_come_from_one_shared_sampler(client, admin_headers, app):
    for _ in range(20):
        assert client.get("/platform/api/hwmon", headers=admin_headers).status_code == 200
    host = app.extensions["portald"].host
    sampler = host.memos["hwmon"]["sampler"]
    assert sampler.running
    assert sampler.collections <= 2


def test_hwmon_needs_token(client):
    for path in ["", *(f"/{p}" for p in PATHS)]:
        response = client.get(f"/platform/api/hwmon{path}")
        assert response.status_code == 401 and response.get_json()["Code"] == 401


def test_hwmon_rejects_writes(client, admin_headers):
    assert client.put("/platform/api/hwmon", json={}, headers=admin_headers).status_code == 405


def test_sensor_vanishing_while_running_is_not_an_error(make_app, tmp_path):
    import shutil

    root = tmp_path / "sys"
    shutil.copytree(FIXTURES / "machines" / "arm-soc-thermal" / "sys", root, symlinks=True)
    app = make_app(board="auto", sysfs_root=str(root), plugins={"hwmon": {"interval_seconds": 0.05}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    before = client.get("/platform/api/hwmon/temperatures", headers=headers).get_json()
    for file in Path(root).rglob("temp1_input"):
        file.unlink()
    import gevent

    gevent.sleep(0.2)
    after = client.get("/platform/api/hwmon/temperatures", headers=headers)
    assert after.status_code in (200, 404)
    if after.status_code == 200:
        assert len(after.get_json()) < len(before)


def test_a_stalled_sensor_read_does_not_freeze_other_requests(make_app, tmp_path):
    """A drop-in board whose sensor read hangs (a wedged I2C bus): while the hwmon request waits for
    it, other requests are served at once (the read runs in the threadpool, not on the hub)."""
    import time

    import gevent

    write_dropin(tmp_path, "wedged",
        "import time\nfrom portald.hookspecs import hookimpl\n\n"
        "class Wedged:\n    name = 'wedged.hwmon'\n    blocking = True\n    def probe(self):\n        return True\n"
        "    def read(self):\n        time.sleep(3)\n        return {}\n\n"
        "@hookimpl(tryfirst=True)\ndef portald_drivers(ctx):\n    return {'hwmon': Wedged()}\n")
    client = make_app().test_client()
    headers = bearer(admin_token(client))
    slow = gevent.spawn(client.get, "/platform/api/hwmon", headers=headers)
    gevent.sleep(0.1)
    start = time.monotonic()
    assert client.get("/platform/api/ping").data == b"pong"
    assert time.monotonic() - start < 1.0
    assert not slow.ready()
    assert slow.get(timeout=10).status_code == 404  # the board answered nothing
