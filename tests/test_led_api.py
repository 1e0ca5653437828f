"""``/platform/api/perif/led*`` over the sim board and over a kernel-shaped LED class tree."""
from __future__ import annotations

import shutil

import pytest

from conftest import ADMIN_PASSWORD, FIXTURES, admin_token, bearer, login

LED = "/platform/api/perif/led"


def _profile(client, headers) -> dict:
    return client.get("/edgehub/api/profile", headers=headers).get_json()


@pytest.fixture
def rpi4_sys(tmp_path):
    root = tmp_path / "rpi4"
    shutil.copytree(FIXTURES / "machines" / "rpi4", root, symlinks=True)
    return root / "sys"


def _linux_client(make_app, sysfs_root, **linux):
    app = make_app(board="auto", sysfs_root=str(sysfs_root), plugins={"linux": linux})
    client = app.test_client()
    return client, bearer(admin_token(client))


def test_sim_has_eight_leds_power_led_on(client, admin_headers):
    response = client.get(LED, headers=admin_headers)
    assert response.status_code == 200
    assert response.get_json() == [True, False, False, False, False, False, False, False]
    assert _profile(client, admin_headers)["perif:led"] == 8


def test_put_switches_one_led_and_get_reads_it_back(client, admin_headers):
    response = client.put(f"{LED}/3", json={"status": True}, headers=admin_headers)
    assert response.status_code == 200 and response.get_json() is True
    assert client.get(f"{LED}/3", headers=admin_headers).get_json() is True
    assert client.get(LED, headers=admin_headers).get_json()[3] is True
    client.put(f"{LED}/0", json={"status": False}, headers=admin_headers)
    assert client.get(f"{LED}/0", headers=admin_headers).get_json() is False


def test_sim_led_state_survives_a_restart(make_app):
    first = make_app().test_client()
    headers = bearer(admin_token(first))
    assert first.put(f"{LED}/5", json={"status": True}, headers=headers).status_code == 200
    assert first.put(f"{LED}/0", json={"status": False}, headers=headers).status_code == 200
    second = make_app().test_client()
    token = login(second, "admin", ADMIN_PASSWORD).get_json()["token"]
    assert second.get(LED, headers=bearer(token)).get_json() == [False] * 5 + [True, False, False]


@pytest.mark.parametrize("path", ["", "/0"])
def test_led_reads_need_a_token(client, path):
    response = client.get(f"{LED}{path}")
    assert response.status_code == 401 and response.get_json()["Code"] == 401


def test_led_write_needs_a_token(client):
    response = client.put(f"{LED}/0", json={"status": True})
    assert response.status_code == 401 and response.get_json()["Code"] == 401


def test_os_user_reads_leds_but_cannot_switch_them(client, os_user_factory, admin_headers):
    user = os_user_factory()
    headers = bearer(login(client, user.name, user.password, m=0).get_json()["token"])
    assert client.get(LED, headers=headers).status_code == 200
    response = client.put(f"{LED}/1", json={"status": True}, headers=headers)
    assert response.status_code == 403 and response.get_json()["Code"] == 403
    assert client.get(f"{LED}/1", headers=admin_headers).get_json() is False


@pytest.mark.parametrize("raw", ["8", "99", "-1", "1.5", "x", "0x1", "%20", "1234567890123"])
def test_bad_led_id_is_400_led(client, admin_headers, raw):
    for response in (client.get(f"{LED}/{raw}", headers=admin_headers),
                     client.put(f"{LED}/{raw}", json={"status": True}, headers=admin_headers)):
        assert response.status_code == 400, raw
        assert list(response.get_json()["errors"]) == ["LED"] and response.get_json()["errors"]["LED"]


@pytest.mark.parametrize("body", [
    {}, {"status": 1}, {"status": "true"}, {"status": None}, {"status": True, "extra": 1}, [True], True,
])
def test_bad_led_body_is_422_validator(client, admin_headers, body):
    response = client.put(f"{LED}/2", json=body, headers=admin_headers)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["validator"]
    assert client.get(f"{LED}/2", headers=admin_headers).get_json() is False


@pytest.mark.parametrize("data", [b"", b"{", b"\xff\xfe", b"[" * 100 + b"]" * 100])
def test_unparsable_led_body_is_422_validator(client, admin_headers, data):
    response = client.put(f"{LED}/2", data=data, headers={**admin_headers, "Content-Type": "application/json"})
    assert response.status_code == 422 and "validator" in response.get_json()["errors"]


def test_no_led_hardware_is_404_and_profile_zero(make_app, tmp_path):
    client, headers = _linux_client(make_app, FIXTURES / "cases" / "empty" / "sys")
    for response in (client.get(LED, headers=headers), client.get(f"{LED}/0", headers=headers),
                     client.put(f"{LED}/0", json={"status": True}, headers=headers)):
        assert response.status_code == 404 and response.get_json()["message"]
    assert _profile(client, headers)["perif:led"] == 0


def test_linux_leds_are_every_led_sorted_by_name(make_app):
    client, headers = _linux_client(make_app, FIXTURES / "machines" / "rpi4" / "sys")
    # ACT 0, PWR 255, input0::capslock 1, numlock 0, scrolllock 0
    assert client.get(LED, headers=headers).get_json() == [False, True, True, False, False]
    assert _profile(client, headers)["perif:led"] == 5


def test_linux_led_names_config_picks_and_orders(make_app):
    client, headers = _linux_client(make_app, FIXTURES / "machines" / "rpi4" / "sys",
                                    led={"names": ["PWR", "input0::numlock", "ACT"]})
    assert client.get(LED, headers=headers).get_json() == [True, False, False]
    assert client.get(f"{LED}/3", headers=headers).status_code == 400


def test_linux_put_writes_max_brightness_and_zero(make_app, rpi4_sys):
    client, headers = _linux_client(make_app, rpi4_sys, led={"names": ["ACT", "PWR"]})
    act = rpi4_sys / "class" / "leds" / "ACT"
    pwr = rpi4_sys / "class" / "leds" / "PWR"
    assert client.put(f"{LED}/0", json={"status": True}, headers=headers).status_code == 200
    assert (act / "brightness").read_text().strip() == "255"
    assert client.put(f"{LED}/1", json={"status": False}, headers=headers).status_code == 200
    assert (pwr / "brightness").read_text().strip() == "0"
    assert client.get(LED, headers=headers).get_json() == [True, False]


def test_linux_led_that_vanished_is_422_led(make_app, rpi4_sys):
    client, headers = _linux_client(make_app, rpi4_sys)
    keyboard = (rpi4_sys / "class" / "leds" / "input0::capslock").resolve().parent
    shutil.rmtree(keyboard)  # the USB keyboard was unplugged
    for response in (client.get(LED, headers=headers), client.get(f"{LED}/2", headers=headers),
                     client.put(f"{LED}/2", json={"status": True}, headers=headers)):
        assert response.status_code == 422 and list(response.get_json()["errors"]) == ["LED"]
    assert client.get(f"{LED}/1", headers=headers).get_json() is True
