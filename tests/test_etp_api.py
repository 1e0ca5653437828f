"""``/platform/api/etp/*`` over the sim board and over an at24 24c04 laid out as the kernel shows it."""
from __future__ import annotations

import logging
import shutil

import pytest

from conftest import ADMIN_PASSWORD, FIXTURES, admin_token, bearer, login

ETP = "/platform/api/etp"
AT24 = FIXTURES / "machines" / "uno-2484g" / "sys"
I2C_FILE = "bus/i2c/devices/0-0050/eeprom"
NVMEM_FILE = "bus/nvmem/devices/0-00500/nvmem"
DMI = AT24 / "class" / "dmi" / "id"


def _spaces(one: str, two: str) -> dict:
    return {"userSpace1": one, "userSpace2": two}


@pytest.fixture
def at24(tmp_path):
    root = tmp_path / "sys"
    shutil.copytree(AT24, root, symlinks=True)
    return root


def _linux(make_app, sysfs_root, eeprom=I2C_FILE, restarted=False):
    app = make_app(board="auto", sysfs_root=str(sysfs_root), plugins={"linux": {"etp": {"eeprom": eeprom}}})
    client = app.test_client()
    token = login(client, "admin", ADMIN_PASSWORD).get_json()["token"] if restarted else admin_token(client)
    return client, bearer(token)


def _lock(client, headers, locked: bool, password: str):
    return client.put(f"{ETP}/userdata/lockstatus", json={"locked": locked, "password": password}, headers=headers)


# --- device data ---------------------------------------------------------------------------------

def test_device_data_maps_the_dmi_files(make_app, at24):
    client, headers = _linux(make_app, at24)
    response = client.get(f"{ETP}/devicedata", headers=headers)
    assert response.status_code == 200

    def dmi(name):
        return (DMI / name).read_text().strip()

    assert response.get_json() == {"modelName": dmi("product_name"), "serialNumber": dmi("product_serial"),
                                   "boardVersion": dmi("board_version"), "uuid": dmi("product_uuid"),
                                   "version": dmi("product_version")}


def test_device_data_falls_back_to_board_name_and_serial(make_app, at24):
    dmi = at24 / "devices" / "virtual" / "dmi" / "id"
    (dmi / "product_name").unlink()
    (dmi / "product_serial").write_text("\n")
    (dmi / "board_serial").write_text("BS-1234\n")
    client, headers = _linux(make_app, at24)
    data = client.get(f"{ETP}/devicedata", headers=headers).get_json()
    assert data["modelName"] == (dmi / "board_name").read_text().strip() and data["serialNumber"] == "BS-1234"


def test_sim_device_data_is_the_sim_boards_identity(app, client, admin_headers):
    board = app.extensions["portald"].host.drivers["board"].read()
    data = client.get(f"{ETP}/devicedata", headers=admin_headers).get_json()
    assert data == {"modelName": board["product_name"], "serialNumber": board["product_serial"],
                    "boardVersion": board["board_version"], "uuid": board["product_uuid"],
                    "version": board["product_version"]}


def test_device_data_without_dmi_is_an_empty_204(make_app, tmp_path):
    client, headers = _linux(make_app, tmp_path)
    response = client.get(f"{ETP}/devicedata", headers=headers)
    assert response.status_code == 204 and response.data == b""


# --- user data -----------------------------------------------------------------------------------

def test_blank_eeprom_reads_empty_and_unlocked(make_app, at24):
    client, headers = _linux(make_app, at24)
    response = client.get(f"{ETP}/userdata", headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"data": _spaces("", ""), "locked": False}
    assert client.get(f"{ETP}/userdata/lockstatus", headers=headers).get_json() == {"locked": False}


@pytest.mark.parametrize("eeprom", [I2C_FILE, NVMEM_FILE])
def test_user_data_written_to_the_eeprom_file_reads_back(make_app, at24, eeprom):
    client, headers = _linux(make_app, at24, eeprom)
    before = (at24 / eeprom).read_bytes()
    body = _spaces("asset 4711, line 3", "x" * 128)
    response = client.put(f"{ETP}/userdata", json=body, headers=headers)
    assert response.status_code == 200 and response.get_json() == body
    assert client.get(f"{ETP}/userdata", headers=headers).get_json() == {"data": body, "locked": False}
    after = (at24 / eeprom).read_bytes()
    assert len(after) == 512 and after != before and b"asset 4711, line 3" in after


def test_user_data_counts_utf8_bytes(client, admin_headers):
    fits = _spaces("é" * 64, "")
    response = client.put(f"{ETP}/userdata", json=fits, headers=admin_headers)
    assert response.status_code == 200 and response.get_json() == fits
    response = client.put(f"{ETP}/userdata", json=_spaces("é" * 64 + "a", ""), headers=admin_headers)
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"ETP": "The maximum length of UserSpace1 is 128"}}


@pytest.mark.parametrize("area", [1, 2])
def test_129_bytes_is_the_specs_422_and_changes_nothing(client, admin_headers, area):
    client.put(f"{ETP}/userdata", json=_spaces("keep", "me"), headers=admin_headers)
    body = _spaces("a", "b")
    body[f"userSpace{area}"] = "y" * 129
    response = client.put(f"{ETP}/userdata", json=body, headers=admin_headers)
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"ETP": f"The maximum length of UserSpace{area} is 128"}}
    assert client.get(f"{ETP}/userdata", headers=admin_headers).get_json()["data"] == _spaces("keep", "me")


@pytest.mark.parametrize("body", [{"userSpace1": "a"}, {"userSpace2": "a"}, {},
                                  {"userSpace1": 1, "userSpace2": ""}, {"userSpace1": None, "userSpace2": ""},
                                  {"userSpace1": "", "userSpace2": "", "userSpace3": ""}, ["a", "b"]])
def test_malformed_user_data_is_a_validator_422(client, admin_headers, body):
    response = client.put(f"{ETP}/userdata", json=body, headers=admin_headers)
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"validator"}


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"[" * 100 + b"]" * 100])
def test_unparsable_body_is_a_validator_422(client, admin_headers, raw):
    for path in ("userdata", "userdata/lockstatus"):
        response = client.put(f"{ETP}/{path}", data=raw, headers={**admin_headers, "Content-Type": "application/json"})
        assert response.status_code == 422 and set(response.get_json()["errors"]) == {"validator"}, path


def test_empty_strings_clear_the_areas(client, admin_headers):
    client.put(f"{ETP}/userdata", json=_spaces("a", "b"), headers=admin_headers)
    response = client.put(f"{ETP}/userdata", json=_spaces("", ""), headers=admin_headers)
    assert response.status_code == 200 and response.get_json() == _spaces("", "")


# --- lock ----------------------------------------------------------------------------------------

def test_locked_area_refuses_writes_until_unlocked(client, admin_headers):
    client.put(f"{ETP}/userdata", json=_spaces("before", "lock"), headers=admin_headers)
    response = _lock(client, admin_headers, True, "s3cret")
    assert response.status_code == 200 and response.get_json() == {"locked": True}
    assert client.get(f"{ETP}/userdata/lockstatus", headers=admin_headers).get_json() == {"locked": True}

    refused = client.put(f"{ETP}/userdata", json=_spaces("after", "lock"), headers=admin_headers)
    assert refused.status_code == 400 and set(refused.get_json()["errors"]) == {"ETP"}
    assert client.get(f"{ETP}/userdata", headers=admin_headers).get_json() == {
        "data": _spaces("before", "lock"), "locked": True}

    wrong = _lock(client, admin_headers, False, "s3creT")
    assert wrong.status_code == 400 and set(wrong.get_json()["errors"]) == {"ETP"}
    assert client.get(f"{ETP}/userdata/lockstatus", headers=admin_headers).get_json() == {"locked": True}

    unlocked = _lock(client, admin_headers, False, "s3cret")
    assert unlocked.status_code == 200 and unlocked.get_json() == {"locked": False}
    written = client.put(f"{ETP}/userdata", json=_spaces("after", "lock"), headers=admin_headers)
    assert written.status_code == 200 and written.get_json() == _spaces("after", "lock")


def test_locking_again_needs_the_same_password(client, admin_headers):
    assert _lock(client, admin_headers, True, "one").status_code == 200
    assert _lock(client, admin_headers, True, "one").get_json() == {"locked": True}
    other = _lock(client, admin_headers, True, "two")
    assert other.status_code == 400 and set(other.get_json()["errors"]) == {"ETP"}
    assert _lock(client, admin_headers, False, "two").status_code == 400
    assert _lock(client, admin_headers, False, "one").get_json() == {"locked": False}


def test_unlocking_an_unlocked_area_is_ok(client, admin_headers):
    response = _lock(client, admin_headers, False, "anything")
    assert response.status_code == 200 and response.get_json() == {"locked": False}


@pytest.mark.parametrize("password", ["", "123456789", "ééééé"])
def test_password_outside_1_to_8_bytes_is_an_etp_422(client, admin_headers, password):
    response = _lock(client, admin_headers, True, password)
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"ETP"}
    assert client.get(f"{ETP}/userdata/lockstatus", headers=admin_headers).get_json() == {"locked": False}


@pytest.mark.parametrize("password", ["x", "12345678", "éééé"])
def test_passwords_of_1_to_8_bytes_lock_and_unlock(client, admin_headers, password):
    assert _lock(client, admin_headers, True, password).status_code == 200
    assert _lock(client, admin_headers, False, password).get_json() == {"locked": False}


@pytest.mark.parametrize("body", [{"locked": True}, {"password": "abc"}, {"locked": "true", "password": "abc"},
                                  {"locked": 1, "password": "abc"}, {"locked": True, "password": 1234},
                                  {"locked": True, "password": "abc", "extra": 1}])
def test_malformed_lock_body_is_a_validator_422(client, admin_headers, body):
    response = client.put(f"{ETP}/userdata/lockstatus", json=body, headers=admin_headers)
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"validator"}


def test_lock_password_is_never_stored_or_logged_in_clear(make_app, at24, caplog):
    client, headers = _linux(make_app, at24)
    with caplog.at_level(logging.DEBUG):
        assert _lock(client, headers, True, "Pa55w0rd").status_code == 200
        assert _lock(client, headers, False, "wr0ngpw").status_code == 400
        assert _lock(client, headers, False, "Pa55w0rd").status_code == 200
    assert b"Pa55w0rd" not in (at24 / I2C_FILE).read_bytes()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Pa55w0rd" not in text and "wr0ngpw" not in text
    etp_lines = [r.getMessage() for r in caplog.records if r.name == "portald.plugins.etp"]
    assert any("locked by admin" in line for line in etp_lines)
    assert any("unlock by admin refused" in line for line in etp_lines)


def test_eeprom_io_and_the_password_hash_run_off_the_event_loop(client, admin_headers, monkeypatch):
    import threading

    from portald_plugins.boards.sim.etp import SimEepromDriver
    from portald_plugins.etp import store

    threads = []

    def recorded(function):
        def call(*args):
            threads.append((function.__name__, threading.get_ident()))
            return function(*args)
        return call

    monkeypatch.setattr(store, "_digest", recorded(store._digest))
    monkeypatch.setattr(SimEepromDriver, "write", recorded(SimEepromDriver.write))
    assert _lock(client, admin_headers, True, "pw").status_code == 200
    assert {name for name, _ in threads} == {"_digest", "write"}
    assert all(ident != threading.get_ident() for _, ident in threads)


def test_writes_are_logged_with_who_and_how_much(client, admin_headers, caplog):
    with caplog.at_level(logging.INFO, logger="portald.plugins.etp"):
        client.put(f"{ETP}/userdata", json=_spaces("abc", ""), headers=admin_headers)
    lines = [r.getMessage() for r in caplog.records if r.name == "portald.plugins.etp"]
    assert lines == ["ETP userSpace1 written by admin (3 bytes)"]


# --- persistence, auth, absence ------------------------------------------------------------------

def test_sim_user_data_and_lock_survive_a_restart(make_app):
    app = make_app()
    client = app.test_client()
    headers = bearer(admin_token(client))
    client.put(f"{ETP}/userdata", json=_spaces("kept", "across restarts"), headers=headers)
    _lock(client, headers, True, "pw")
    app.extensions["portald"].shutdown()

    again = make_app().test_client()
    headers = bearer(login(again, "admin", ADMIN_PASSWORD).get_json()["token"])
    assert again.get(f"{ETP}/userdata", headers=headers).get_json() == {
        "data": _spaces("kept", "across restarts"), "locked": True}
    assert _lock(again, headers, False, "pw").get_json() == {"locked": False}


def test_eeprom_contents_survive_a_restart(make_app, at24):
    client, headers = _linux(make_app, at24)
    client.put(f"{ETP}/userdata", json=_spaces("on the chip", "2"), headers=headers)
    _lock(client, headers, True, "pw")
    again, headers = _linux(make_app, at24, restarted=True)
    assert again.get(f"{ETP}/userdata", headers=headers).get_json() == {
        "data": _spaces("on the chip", "2"), "locked": True}


@pytest.mark.parametrize("method,path", [("get", "devicedata"), ("get", "userdata"), ("put", "userdata"),
                                         ("get", "userdata/lockstatus"), ("put", "userdata/lockstatus")])
def test_etp_needs_a_token(client, method, path):
    for headers in ({}, bearer("not-a-token")):
        response = getattr(client, method)(f"{ETP}/{path}", json={}, headers=headers)
        assert response.status_code == 401 and response.get_json()["Code"] == 401


def test_os_user_reads_but_may_not_write(client, admin_headers, os_user_factory):
    client.put(f"{ETP}/userdata", json=_spaces("shared", ""), headers=admin_headers)
    user = os_user_factory()
    headers = bearer(login(client, user.name, user.password, m=0).get_json()["token"])
    assert client.get(f"{ETP}/userdata", headers=headers).get_json()["data"]["userSpace1"] == "shared"
    assert client.get(f"{ETP}/devicedata", headers=headers).status_code == 200
    assert client.put(f"{ETP}/userdata", json=_spaces("mine", ""), headers=headers).status_code == 403
    assert _lock(client, headers, True, "pw").status_code == 403
    assert client.get(f"{ETP}/userdata/lockstatus", headers=admin_headers).get_json() == {"locked": False}


def _assert_not_supported(client, headers):
    for method, path, body in [("get", "userdata", None), ("get", "userdata/lockstatus", None),
                               ("put", "userdata", _spaces("a", "b")),
                               ("put", "userdata/lockstatus", {"locked": True, "password": "pw"})]:
        response = getattr(client, method)(f"{ETP}/{path}", json=body, headers=headers)
        assert response.status_code == 404, path
        assert set(response.get_json()) == {"errors"} and set(response.get_json()["errors"]) == {"ETP"}, path


def test_without_a_configured_eeprom_user_data_is_not_supported(make_app, at24):
    app = make_app(board="auto", sysfs_root=str(at24))
    client = app.test_client()
    headers = bearer(admin_token(client))
    _assert_not_supported(client, headers)
    profile = client.get("/edgehub/api/profile", headers=headers).get_json()
    assert profile["etp"] == 0 and profile["etp:devicedata"] == 1


def test_missing_eeprom_file_is_not_supported(make_app, tmp_path):
    client, headers = _linux(make_app, tmp_path)
    _assert_not_supported(client, headers)
    status = client.get("/platform/api/plugins", headers=headers).get_json()
    etp = next(p for p in status["plugins"] if p["name"] == "etp")
    assert etp["state"] == "absent" and etp["reason"]


def test_eeprom_too_small_for_the_layout_is_not_used(make_app, at24):
    small = at24 / "devices" / "pci0000:00" / "0000:00:1f.4" / "i2c-0" / "0-0050" / "eeprom"
    small.write_bytes(b"\xff" * 256)  # a 24c02
    client, headers = _linux(make_app, at24)
    _assert_not_supported(client, headers)
    assert small.read_bytes() == b"\xff" * 256


@pytest.mark.parametrize("setting", [{"eeprom": 5}, {"eeprom": I2C_FILE, "page_size": 12},
                                     {"i2c_bus": 0}, {"i2c_bus": "zero", "i2c_address": 0x50},
                                     {"eeprom": I2C_FILE, "i2c_bus": 0, "i2c_address": 0x50}])
def test_bad_eeprom_settings_leave_user_data_unsupported(make_app, at24, setting):
    app = make_app(board="auto", sysfs_root=str(at24), plugins={"linux": {"etp": setting}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    _assert_not_supported(client, headers)
    assert client.get(f"{ETP}/devicedata", headers=headers).status_code == 200


def test_profile_says_etp_on_the_sim_board(client, admin_headers):
    profile = client.get("/edgehub/api/profile", headers=admin_headers).get_json()
    assert profile["etp"] == 1 and profile["etp:devicedata"] == 1
