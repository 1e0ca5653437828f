"""The example OEM board plugin (``examples/acme-board``) as an OEM ships it: pip-installed into its own
folder, found through its ``portald.plugins`` entry point, and driven through the REST API against its
simulated MCU on a pseudo-terminal; its drivers win over the generic ones, the API changes the MCU's
state, a silent MCU leaves GPIO/LED absent and garbage from the MCU is a 422, never a 500. The
example's own tests run here too."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import admin_token, bearer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "acme-board"
BUILD_LEFTOVERS = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")


@pytest.fixture(scope="module")
def example_copy(tmp_path_factory):
    """The example's source, copied so that building it leaves nothing behind in the repository."""
    source = tmp_path_factory.mktemp("acme") / "portald-acme-board"
    shutil.copytree(EXAMPLE, source, ignore=BUILD_LEFTOVERS)
    return source


@pytest.fixture(scope="module")
def installed_example(example_copy, tmp_path_factory):
    site = tmp_path_factory.mktemp("acme-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(example_copy)], check=True, timeout=300)
    return site


def _forget_acme_board() -> None:
    # Other tests import an ``acme_board`` of their own (tests/test_plugins.py installs a throwaway one,
    # the example's tests import it from source): each test must load the one it put on sys.path.
    for name in [name for name in sys.modules if name == "acme_board" or name.startswith("acme_board.")]:
        del sys.modules[name]


@pytest.fixture
def acme(installed_example, monkeypatch):
    """The installed example on sys.path (so its entry point is found) and its simulated MCU running."""
    saved = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "acme_board"}
    _forget_acme_board()
    monkeypatch.syspath_prepend(str(installed_example))
    from acme_board.mcu_sim import SimulatedMcu
    assert Path(sys.modules["acme_board"].__file__).is_relative_to(installed_example)
    mcu = SimulatedMcu().start()
    yield mcu
    mcu.stop()
    _forget_acme_board()
    sys.modules.update(saved)


@pytest.fixture
def start(make_app, acme):
    """Build the app on the ACME board; returns (test client, admin headers, app)."""
    def build(**acme_settings):
        settings = {"port": acme.port, "timeout_seconds": 1, **acme_settings}
        app = make_app(board="auto", plugins={"acme": settings})
        client = app.test_client()
        return client, bearer(admin_token(client)), app
    return build


def _status(client, headers) -> dict:
    response = client.get("/platform/api/plugins", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def test_acme_plugin_is_found_by_entry_point_and_its_drivers_win(start, acme):
    client, headers, _ = start()
    status = _status(client, headers)
    plugin = next(p for p in status["plugins"] if p["name"] == "acme")
    assert (plugin["source"], plugin["state"], plugin["origin"]) == ("entrypoint", "active", "acme_board")
    assert status["drivers"]["gpio"] == {"driver": "acme.gpio", "plugin": "acme"}
    assert status["drivers"]["led"] == {"driver": "acme.led", "plugin": "acme"}
    profile = client.get("/edgehub/api/profile", headers=headers).get_json()
    assert (profile["perif:led"], profile["perif:gpio:count"]) == (4, 8)
    assert acme.requests[0] == "INFO?"


def test_led_api_switches_the_mcu_led(start, acme):
    client, headers, _ = start()
    response = client.put("/platform/api/perif/led/2", json={"status": True}, headers=headers)
    assert response.status_code == 200 and response.get_json() is True
    assert acme.leds == [False, False, True, False]
    acme.leds[0] = True  # switched on the MCU side: the API reads the MCU, not a cache
    assert client.get("/platform/api/perif/led", headers=headers).get_json() == [True, False, True, False]
    assert client.get("/platform/api/perif/led/2", headers=headers).get_json() is True
    assert client.get("/platform/api/perif/led/4", headers=headers).status_code == 400  # 4 LEDs only


def test_gpio_api_drives_and_reads_the_mcu_pins(start, acme):
    client, headers, _ = start()
    response = client.put("/platform/api/perif/gpio/3/level", json={"level": 1}, headers=headers)
    assert response.status_code == 200 and response.get_json() == {"level": 1}
    assert acme.latch[3] == 1
    assert client.get("/platform/api/perif/gpio/3", headers=headers).get_json() == {"pin": 3, "dir": 0, "level": 1}
    acme.wire[6] = 1
    assert client.get("/platform/api/perif/gpio/6/level", headers=headers).get_json() == {"level": 1}
    response = client.put("/platform/api/perif/gpio/6/dir", json={"dir": 0}, headers=headers)
    assert response.status_code == 200
    assert (acme.direction[6], acme.latch[6]) == (0, 0)  # switched to output: starts low
    assert client.get("/platform/api/perif/gpio/count", headers=headers).get_json() == {"count": 8}


def test_gpio_level_on_an_input_pin_is_422_and_leaves_the_mcu_alone(start, acme):
    client, headers, _ = start()
    response = client.put("/platform/api/perif/gpio/5/level", json={"level": 1}, headers=headers)
    assert response.status_code == 422
    assert "input" in response.get_json()["errors"]["GPIO"]
    assert (acme.direction[5], acme.latch[5]) == (1, 0)
    assert not any(line.startswith("GPIO SET") for line in acme.requests)


def test_silent_mcu_leaves_gpio_and_led_absent_and_the_daemon_serving(start, acme):
    acme.mode = "silent"
    started = time.monotonic()
    client, headers, _ = start()
    assert time.monotonic() - started < 5  # bounded: one 1 s timeout for both drivers, then serving
    assert acme.requests == ["INFO?"]
    status = _status(client, headers)
    assert "gpio" not in status["drivers"] and "led" not in status["drivers"]
    plugin = next(p for p in status["plugins"] if p["name"] == "acme")
    assert plugin["state"] == "absent" and acme.port in plugin["reason"]
    assert client.get("/platform/api/perif/led/0", headers=headers).status_code == 404
    assert client.get("/platform/api/perif/gpio/count", headers=headers).get_json() == {"count": 0}
    profile = client.get("/edgehub/api/profile", headers=headers)
    assert profile.status_code == 200 and profile.get_json()["perif:led"] == 0


def test_missing_port_leaves_the_plugin_absent(start, tmp_path):
    client, headers, _ = start(port=str(tmp_path / "ttyUSB9"))
    status = _status(client, headers)
    assert next(p for p in status["plugins"] if p["name"] == "acme")["state"] == "absent"
    assert "led" not in status["drivers"]


def test_bad_setting_fails_the_plugin_with_its_reason(start):
    client, headers, _ = start(baudrate="fast")
    plugin = next(p for p in _status(client, headers)["plugins"] if p["name"] == "acme")
    assert plugin["state"] == "failed" and "baudrate" in plugin["reason"]


def test_mcu_garbage_mid_run_is_422_in_the_area_shape_never_500(start, acme):
    client, headers, _ = start()
    assert client.get("/platform/api/perif/gpio/3", headers=headers).status_code == 200
    acme.mode = "garbage"
    answers = {
        "GPIO": [client.get("/platform/api/perif/gpio/3", headers=headers),
                 client.put("/platform/api/perif/gpio/3/dir", json={"dir": 0}, headers=headers),
                 client.get("/platform/api/perif/gpio/all", headers=headers)],
        "LED": [client.get("/platform/api/perif/led/1", headers=headers),
                client.put("/platform/api/perif/led/1", json={"status": True}, headers=headers),
                client.get("/platform/api/perif/led", headers=headers)],
    }
    for area, responses in answers.items():
        for response in responses:
            assert response.status_code == 422, (area, response.status_code, response.get_data())
            assert list(response.get_json()) == ["errors"] and "garbled" in response.get_json()["errors"][area]
    acme.mode = "ok"  # the MCU recovers: so does the API, without a restart
    assert client.get("/platform/api/perif/led/1", headers=headers).status_code == 200


def test_the_examples_own_tests_pass(example_copy):
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                          cwd=example_copy, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
