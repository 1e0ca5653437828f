"""``/platform/api/perif/gpio/*`` over the sim board and over a kernel-shaped legacy sysfs GPIO tree."""
from __future__ import annotations

import shutil

import pytest

from conftest import ADMIN_PASSWORD, FIXTURES, admin_token, bearer, login

GPIO = "/platform/api/perif/gpio"
OUTPUT, INPUT = 0, 1
# sim board: pins 0-3 outputs (low), 4-7 inputs
PIN_PATHS = ["", "/dir", "/level"]


@pytest.fixture
def rpi4_sys(tmp_path):
    shutil.copytree(FIXTURES / "machines" / "rpi4", tmp_path / "rpi4", symlinks=True)
    return tmp_path / "rpi4" / "sys"


def _linux_client(make_app, tmp_path, sysfs_root, lines):
    app = make_app(board="auto", sysfs_root=str(sysfs_root), dev_root=str(tmp_path / "dev"),
                   plugins={"linux": {"gpio": {"chip": "gpiochip0", "lines": lines}}})
    client = app.test_client()
    return client, bearer(admin_token(client))


def _errors(response) -> dict:
    return response.get_json()["errors"]


def test_sim_count_all_and_profile(client, admin_headers):
    assert client.get(f"{GPIO}/count", headers=admin_headers).get_json() == {"count": 8}
    pins = client.get(f"{GPIO}/all", headers=admin_headers).get_json()
    assert [list(pin) for pin in pins] == [["pin", "dir", "level"]] * 8
    assert [pin["pin"] for pin in pins] == list(range(8))
    assert [pin["dir"] for pin in pins] == [OUTPUT] * 4 + [INPUT] * 4
    assert all(pin["level"] in (0, 1) for pin in pins)
    assert [pin["level"] for pin in pins[:4]] == [0, 0, 0, 0]
    profile = client.get("/edgehub/api/profile", headers=admin_headers).get_json()
    assert profile["perif:gpio:count"] == 8 and profile["perif:gpio:all"] == 1


def test_one_pin_its_dir_and_its_level(client, admin_headers):
    assert client.get(f"{GPIO}/2", headers=admin_headers).get_json() == {"pin": 2, "dir": OUTPUT, "level": 0}
    assert client.get(f"{GPIO}/6/dir", headers=admin_headers).get_json() == {"dir": INPUT}
    assert client.get(f"{GPIO}/6/level", headers=admin_headers).get_json()["level"] in (0, 1)


def test_drive_an_output_high(client, admin_headers):
    response = client.put(f"{GPIO}/1/level", json={"level": 1}, headers=admin_headers)
    assert response.status_code == 200 and response.get_json() == {"level": 1}
    assert client.get(f"{GPIO}/1", headers=admin_headers).get_json() == {"pin": 1, "dir": OUTPUT, "level": 1}


def test_turn_an_input_into_an_output_that_starts_low(client, admin_headers):
    response = client.put(f"{GPIO}/5/dir", json={"dir": OUTPUT}, headers=admin_headers)
    assert response.status_code == 200 and response.get_json() == {"dir": OUTPUT}
    assert client.get(f"{GPIO}/5", headers=admin_headers).get_json() == {"pin": 5, "dir": OUTPUT, "level": 0}
    assert client.put(f"{GPIO}/5/level", json={"level": 1}, headers=admin_headers).status_code == 200
    assert client.get(f"{GPIO}/5/level", headers=admin_headers).get_json() == {"level": 1}


def test_setting_the_level_of_an_input_is_422_gpio(client, admin_headers):
    response = client.put(f"{GPIO}/4/level", json={"level": 1}, headers=admin_headers)
    assert response.status_code == 422 and list(_errors(response)) == ["GPIO"]
    assert "input" in _errors(response)["GPIO"]


def test_setting_the_same_direction_keeps_an_output_level(client, admin_headers):
    client.put(f"{GPIO}/0/level", json={"level": 1}, headers=admin_headers)
    assert client.put(f"{GPIO}/0/dir", json={"dir": OUTPUT}, headers=admin_headers).status_code == 200
    assert client.get(f"{GPIO}/0/level", headers=admin_headers).get_json() == {"level": 1}


def test_sim_directions_and_levels_survive_a_restart(make_app):
    first = make_app().test_client()
    headers = bearer(admin_token(first))
    assert first.put(f"{GPIO}/3/level", json={"level": 1}, headers=headers).status_code == 200
    assert first.put(f"{GPIO}/0/dir", json={"dir": INPUT}, headers=headers).status_code == 200
    assert first.put(f"{GPIO}/7/dir", json={"dir": OUTPUT}, headers=headers).status_code == 200
    assert first.put(f"{GPIO}/7/level", json={"level": 1}, headers=headers).status_code == 200
    second = make_app().test_client()
    headers = bearer(login(second, "admin", ADMIN_PASSWORD).get_json()["token"])
    pins = second.get(f"{GPIO}/all", headers=headers).get_json()
    assert [pin["dir"] for pin in pins] == [INPUT, OUTPUT, OUTPUT, OUTPUT, INPUT, INPUT, INPUT, OUTPUT]
    assert pins[3]["level"] == 1 and pins[7]["level"] == 1 and pins[1]["level"] == 0


@pytest.mark.parametrize("path", ["/count", "/all", "/0", "/0/dir", "/0/level"])
def test_gpio_reads_need_a_token(client, path):
    response = client.get(f"{GPIO}{path}")
    assert response.status_code == 401 and response.get_json()["Code"] == 401


@pytest.mark.parametrize("path,body", [("/0/dir", {"dir": 1}), ("/0/level", {"level": 1})])
def test_gpio_writes_need_a_token(client, path, body):
    response = client.put(f"{GPIO}{path}", json=body)
    assert response.status_code == 401 and response.get_json()["Code"] == 401


def test_os_user_reads_pins_but_cannot_change_them(client, os_user_factory, admin_headers):
    user = os_user_factory()
    headers = bearer(login(client, user.name, user.password, m=0).get_json()["token"])
    assert client.get(f"{GPIO}/all", headers=headers).status_code == 200
    for path, body in [("/0/dir", {"dir": INPUT}), ("/0/level", {"level": 1})]:
        response = client.put(f"{GPIO}{path}", json=body, headers=headers)
        assert response.status_code == 403 and response.get_json()["Code"] == 403
    assert client.get(f"{GPIO}/0", headers=admin_headers).get_json() == {"pin": 0, "dir": OUTPUT, "level": 0}


@pytest.mark.parametrize("raw", ["8", "100", "-1", "1.5", "x", "%20", "1234567890123"])
def test_bad_pin_id_is_400_invalid_parameter(client, admin_headers, raw):
    responses = [client.get(f"{GPIO}/{raw}{path}", headers=admin_headers) for path in PIN_PATHS]
    responses += [client.put(f"{GPIO}/{raw}/dir", json={"dir": 0}, headers=admin_headers),
                  client.put(f"{GPIO}/{raw}/level", json={"level": 0}, headers=admin_headers),
                  client.put(f"{GPIO}/{raw}/level", json={"nonsense": 0}, headers=admin_headers)]
    for response in responses:
        assert response.status_code == 400, raw
        assert response.get_json() == {"errors": {"GPIO": "invalid parameter"}}


@pytest.mark.parametrize("field", ["dir", "level"])
@pytest.mark.parametrize("value", [2, -1, True, 1.0, "1", None])
def test_bad_dir_or_level_value_is_422_validator(client, admin_headers, field, value):
    response = client.put(f"{GPIO}/0/{field}", json={field: value}, headers=admin_headers)
    assert response.status_code == 422 and list(_errors(response)) == ["validator"]
    assert client.get(f"{GPIO}/0", headers=admin_headers).get_json() == {"pin": 0, "dir": OUTPUT, "level": 0}


@pytest.mark.parametrize("field", ["dir", "level"])
@pytest.mark.parametrize("body", [{}, {"value": 1}, [1], 1])
def test_missing_field_is_422_validator(client, admin_headers, field, body):
    response = client.put(f"{GPIO}/0/{field}", json=body, headers=admin_headers)
    assert response.status_code == 422 and list(_errors(response)) == ["validator"]


def test_extra_field_is_422_validator(client, admin_headers):
    response = client.put(f"{GPIO}/0/level", json={"level": 1, "dir": 0}, headers=admin_headers)
    assert response.status_code == 422 and list(_errors(response)) == ["validator"]


def test_no_gpio_is_404_count_zero_and_profile_zero(make_app, tmp_path):
    client, headers = _linux_client(make_app, tmp_path, FIXTURES / "cases" / "empty" / "sys", [0, 1])
    assert client.get(f"{GPIO}/count", headers=headers).get_json() == {"count": 0}
    responses = [client.get(f"{GPIO}/all", headers=headers)]
    responses += [client.get(f"{GPIO}/0{path}", headers=headers) for path in PIN_PATHS]
    responses += [client.put(f"{GPIO}/0/dir", json={"dir": 0}, headers=headers),
                  client.put(f"{GPIO}/0/level", json={"level": 0}, headers=headers)]
    for response in responses:
        assert response.status_code == 404 and response.get_json()["message"]
    profile = client.get("/edgehub/api/profile", headers=headers).get_json()
    assert profile["perif:gpio:count"] == 0 and profile["perif:gpio:all"] == 0


def test_linux_sysfs_pins_in_configured_order(make_app, tmp_path):
    client, headers = _linux_client(make_app, tmp_path, FIXTURES / "machines" / "rpi4" / "sys", [17, 27, 22, 23])
    assert client.get(f"{GPIO}/all", headers=headers).get_json() == [
        {"pin": 0, "dir": OUTPUT, "level": 1},
        {"pin": 1, "dir": OUTPUT, "level": 0},
        {"pin": 2, "dir": INPUT, "level": 1},
        {"pin": 3, "dir": INPUT, "level": 0},
    ]
    assert client.get("/platform/api/plugins", headers=headers).get_json()["drivers"]["gpio"]["driver"] == \
        "linux.gpio-sysfs"
    assert client.get("/edgehub/api/profile", headers=headers).get_json()["perif:gpio:count"] == 4


def test_linux_sysfs_writes_reach_the_line_files(make_app, tmp_path, rpi4_sys):
    client, headers = _linux_client(make_app, tmp_path, rpi4_sys, [17, 27, 22])
    lines = rpi4_sys / "class" / "gpio"
    assert client.put(f"{GPIO}/1/level", json={"level": 1}, headers=headers).status_code == 200
    assert (lines / "gpio539" / "value").read_text().strip() == "1"
    assert client.put(f"{GPIO}/2/dir", json={"dir": OUTPUT}, headers=headers).status_code == 200
    assert (lines / "gpio534" / "direction").read_text().strip() == "out"
    assert client.put(f"{GPIO}/0/dir", json={"dir": INPUT}, headers=headers).status_code == 200
    assert (lines / "gpio529" / "direction").read_text().strip() == "in"
    response = client.put(f"{GPIO}/0/level", json={"level": 0}, headers=headers)
    assert response.status_code == 422 and list(_errors(response)) == ["GPIO"]
    assert (lines / "gpio529" / "value").read_text().strip() == "1"


def test_linux_line_that_could_not_be_exported_is_422_gpio(make_app, tmp_path, rpi4_sys):
    # Line 4 is not exported; the fixture's export file cannot create gpio516 as the kernel would.
    client, headers = _linux_client(make_app, tmp_path, rpi4_sys, [17, 4])
    assert (rpi4_sys / "class" / "gpio" / "export").read_text().strip() == "516"
    assert client.get(f"{GPIO}/0", headers=headers).status_code == 200
    for response in (client.get(f"{GPIO}/1", headers=headers), client.get(f"{GPIO}/all", headers=headers),
                     client.put(f"{GPIO}/1/dir", json={"dir": 0}, headers=headers)):
        assert response.status_code == 422 and list(_errors(response)) == ["GPIO"]


@pytest.mark.parametrize("section", [{"lines": "17"}, {"lines": [17, 17]}, {"lines": [-1]}, {"lines": [True]},
                                     {"chip": "../gpiochip0", "lines": [17]}, {"chip": 0, "lines": [17]}])
def test_bad_gpio_config_leaves_gpio_unsupported_and_the_daemon_serving(make_app, tmp_path, section):
    app = make_app(board="auto", sysfs_root=str(FIXTURES / "machines" / "rpi4" / "sys"), dev_root=str(tmp_path),
                   plugins={"linux": {"gpio": section}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    assert client.get(f"{GPIO}/all", headers=headers).status_code == 404
    assert client.get("/platform/api/ping").status_code == 200
