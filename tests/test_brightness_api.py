"""``/platform/api/perif/brightness`` over the sim board and over kernel-shaped backlight class trees."""
from __future__ import annotations

import shutil

import pytest

from conftest import ADMIN_PASSWORD, FIXTURES, admin_token, bearer, login

URL = "/platform/api/perif/brightness"


def _linux_client(make_app, sysfs_root, **brightness):
    app = make_app(board="auto", sysfs_root=str(sysfs_root), plugins={"linux": {"brightness": brightness}})
    client = app.test_client()
    return client, bearer(admin_token(client))


@pytest.fixture
def panel_sys(tmp_path):
    shutil.copytree(FIXTURES / "machines" / "panel-pc", tmp_path / "panel-pc", symlinks=True)
    return tmp_path / "panel-pc" / "sys"


def test_sim_brightness_is_0_to_9_starting_at_5(client, admin_headers):
    response = client.get(URL, headers=admin_headers)
    assert response.status_code == 200
    assert response.get_json() == {"min": 0, "max": 9, "value": 5}
    assert client.get("/edgehub/api/profile", headers=admin_headers).get_json()["perif:brightness"] == 1


@pytest.mark.parametrize("value", [0, 1, 9])
def test_put_sets_the_value_and_answers_the_new_state(client, admin_headers, value):
    response = client.put(URL, json={"value": value}, headers=admin_headers)
    assert response.status_code == 200
    assert response.get_json() == {"min": 0, "max": 9, "value": value}
    assert client.get(URL, headers=admin_headers).get_json()["value"] == value


def test_sim_brightness_survives_a_restart(make_app):
    first = make_app().test_client()
    assert first.put(URL, json={"value": 2}, headers=bearer(admin_token(first))).status_code == 200
    second = make_app().test_client()
    token = login(second, "admin", ADMIN_PASSWORD).get_json()["token"]
    assert second.get(URL, headers=bearer(token)).get_json()["value"] == 2


def test_brightness_needs_a_token(client):
    for response in (client.get(URL), client.put(URL, json={"value": 3})):
        assert response.status_code == 401 and response.get_json()["Code"] == 401


def test_os_user_reads_brightness_but_cannot_set_it(client, os_user_factory, admin_headers):
    user = os_user_factory()
    headers = bearer(login(client, user.name, user.password, m=0).get_json()["token"])
    assert client.get(URL, headers=headers).status_code == 200
    response = client.put(URL, json={"value": 1}, headers=headers)
    assert response.status_code == 403 and response.get_json()["Code"] == 403
    assert client.get(URL, headers=admin_headers).get_json()["value"] == 5


@pytest.mark.parametrize("value", [-1, 10, 10**40])
def test_out_of_range_value_is_422_brightness_and_changes_nothing(client, admin_headers, value):
    response = client.put(URL, json={"value": value}, headers=admin_headers)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["Brightness"] and "range" in response.get_json()["errors"]["Brightness"]
    assert client.get(URL, headers=admin_headers).get_json()["value"] == 5


@pytest.mark.parametrize("body", [{}, {"value": True}, {"value": 5.0}, {"value": "5"}, {"value": None},
                                  {"value": 5, "min": 0}, [5], 5])
def test_malformed_body_is_422_in_the_brightness_area(client, admin_headers, body):
    response = client.put(URL, json=body, headers=admin_headers)
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["Brightness"]


def test_unparsable_body_is_422_in_the_brightness_area(client, admin_headers):
    response = client.put(URL, data=b"value=5", headers={**admin_headers, "Content-Type": "application/json"})
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["Brightness"]


def test_no_backlight_is_404_and_profile_zero(make_app):
    client, headers = _linux_client(make_app, FIXTURES / "cases" / "empty" / "sys")
    for response in (client.get(URL, headers=headers), client.put(URL, json={"value": 1}, headers=headers)):
        assert response.status_code == 404 and response.get_json()["message"]
    assert client.get("/edgehub/api/profile", headers=headers).get_json()["perif:brightness"] == 0


def test_linux_backlight_range_and_value_from_sysfs(make_app):
    client, headers = _linux_client(make_app, FIXTURES / "machines" / "panel-pc" / "sys")
    assert client.get(URL, headers=headers).get_json() == {"min": 0, "max": 7, "value": 6}


def test_linux_laptop_prefers_the_firmware_backlight(make_app):
    client, headers = _linux_client(make_app, FIXTURES / "machines" / "laptop" / "sys")
    assert client.get(URL, headers=headers).get_json() == {"min": 0, "max": 15, "value": 10}


def test_linux_configured_device_and_min(make_app):
    client, headers = _linux_client(make_app, FIXTURES / "machines" / "laptop" / "sys",
                                    device="intel_backlight", min=100)
    assert client.get(URL, headers=headers).get_json() == {"min": 100, "max": 19393, "value": 12000}
    response = client.put(URL, json={"value": 99}, headers=headers)
    assert response.status_code == 422 and "Brightness" in response.get_json()["errors"]


def test_linux_put_writes_brightness(make_app, panel_sys):
    client, headers = _linux_client(make_app, panel_sys)
    response = client.put(URL, json={"value": 3}, headers=headers)
    assert response.status_code == 200 and response.get_json()["value"] == 3
    assert (panel_sys / "class" / "backlight" / "backlight" / "brightness").read_text().strip() == "3"
    assert client.put(URL, json={"value": 8}, headers=headers).status_code == 422
    assert (panel_sys / "class" / "backlight" / "backlight" / "brightness").read_text().strip() == "3"


def test_linux_backlight_failing_to_read_is_422_brightness(make_app, panel_sys):
    client, headers = _linux_client(make_app, panel_sys)
    (panel_sys / "class" / "backlight" / "backlight" / "brightness").unlink()
    for response in (client.get(URL, headers=headers), client.put(URL, json={"value": 1}, headers=headers)):
        assert response.status_code == 422 and list(response.get_json()["errors"]) == ["Brightness"]
