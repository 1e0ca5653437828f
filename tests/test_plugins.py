"""Plugin discovery and isolation: an OEM board plugin installed as a package (entry point) and one
dropped in as a file both win over the generic hwmon driver; broken plugins are reported and skipped
while the daemon keeps serving."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from conftest import admin_token, bearer, write_dropin

OEM_PLUGIN = '''
"""An OEM board whose embedded controller reports its own sensors."""
from portald.hookspecs import hookimpl


class AcmeHwmon:
    name = "acme.hwmon"

    def probe(self):
        return True

    def read(self):
        return {"temperature": [{"name": "EC CPU", "value": 47.5, "unit": "Celsius"}],
                "voltage": [], "current": [], "fanspeed": []}


@hookimpl
def portald_drivers(ctx):
    return {"hwmon": AcmeHwmon()}
'''


@pytest.fixture(scope="module")
def installed_oem_package(tmp_path_factory):
    """pip-installs a throwaway OEM package into its own folder, exactly as an OEM would ship it."""
    root = tmp_path_factory.mktemp("oem")
    src = root / "src"
    (src / "acme_board").mkdir(parents=True)
    (src / "acme_board" / "__init__.py").write_text(OEM_PLUGIN)
    (src / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n')
    (src / "setup.cfg").write_text(textwrap.dedent("""
        [metadata]
        name = acme-board
        version = 1.0
        [options]
        packages = acme_board
        [options.entry_points]
        portald.plugins =
            acme = acme_board
    """))
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(src)], check=True)
    return site


def _status(client, headers):
    response = client.get("/platform/api/plugins", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def test_entry_point_oem_plugin_driver_wins_over_generic(make_app, installed_oem_package, monkeypatch):
    monkeypatch.syspath_prepend(str(installed_oem_package))
    app = make_app(board="auto", sysfs_root="tests/fixtures/machines/desktop-q370/sys")
    client = app.test_client()
    headers = bearer(admin_token(client))
    status = _status(client, headers)
    acme = next(p for p in status["plugins"] if p["name"] == "acme")
    assert acme["source"] == "entrypoint" and acme["state"] == "active"
    assert status["drivers"]["hwmon"] == {"driver": "acme.hwmon", "plugin": "acme"}
    temps = client.get("/platform/api/hwmon/temperatures", headers=headers).get_json()
    assert temps == [{"name": "EC CPU", "value": 47.5, "unit": "Celsius"}]


def test_config_priority_can_prefer_the_generic_driver(make_app, installed_oem_package, monkeypatch):
    monkeypatch.syspath_prepend(str(installed_oem_package))
    app = make_app(board="auto", sysfs_root="tests/fixtures/machines/desktop-q370/sys",
                   drivers={"hwmon": ["linux.hwmon"]})
    assert app.extensions["portald"].host.status()["drivers"]["hwmon"]["driver"] == "linux.hwmon"


def test_dropin_file_plugin_driver_wins_over_generic(make_app, tmp_path):
    write_dropin(tmp_path, "acme_dropin", OEM_PLUGIN.replace("acme.hwmon", "dropin.hwmon"))
    app = make_app(board="auto", sysfs_root="tests/fixtures/machines/desktop-q370/sys")
    client = app.test_client()
    headers = bearer(admin_token(client))
    status = _status(client, headers)
    dropin = next(p for p in status["plugins"] if p["name"] == "acme_dropin")
    assert dropin["source"] == "dropin" and dropin["state"] == "active"
    assert status["drivers"]["hwmon"]["driver"] == "dropin.hwmon"


BROKEN = {
    "import_error.py": "raise RuntimeError('EC firmware too old')\n",
    "probe_error.py": OEM_PLUGIN.replace("return True", "raise OSError(5, 'EC timeout')", 1),
    "unknown_hook.py": "from portald.hookspecs import hookimpl\n\n@hookimpl\ndef portald_drivrs(ctx):\n    return {}\n",
    "hook_error.py": "from portald.hookspecs import hookimpl\n\n@hookimpl\ndef portald_blueprints(ctx):\n    raise ValueError('bad')\n",
    "bad_return.py": "from portald.hookspecs import hookimpl\n\n@hookimpl\ndef portald_drivers(ctx):\n    return ['x']\n",
}


def test_broken_plugins_are_reported_and_the_daemon_keeps_serving(make_app, tmp_path):
    for name, text in BROKEN.items():
        write_dropin(tmp_path, name.removesuffix(".py"), text)
    app = make_app(board="auto", sysfs_root="tests/fixtures/machines/desktop-q370/sys")
    client = app.test_client()
    headers = bearer(admin_token(client))
    status = _status(client, headers)
    states = {p["name"]: p for p in status["plugins"]}
    assert "EC firmware too old" in states["import_error"]["reason"]
    assert "EC timeout" in states["probe_error"]["reason"]
    assert "portald_drivrs" in states["unknown_hook"]["reason"]
    assert "bad" in states["hook_error"]["reason"]
    assert "dict" in states["bad_return"]["reason"]
    for name in BROKEN:
        assert states[name[:-3]]["state"] == "failed", name
    # the built-ins are untouched: the generic driver took over from the one whose probe raised
    assert status["drivers"]["hwmon"]["driver"] == "linux.hwmon"
    assert client.get("/platform/api/hwmon", headers=headers).status_code == 200


def test_disabled_plugin_is_not_loaded(make_app):
    app = make_app(disabled_plugins=["hwmon"])
    client = app.test_client()
    headers = bearer(admin_token(client))
    states = {p["name"]: p["state"] for p in _status(client, headers)["plugins"]}
    assert states["hwmon"] == "disabled"
    assert client.get("/platform/api/hwmon", headers=headers).status_code == 404


def test_sim_board_is_absent_unless_asked_for(make_app):
    app = make_app(board="auto")
    status = app.extensions["portald"].host.status()
    sim = next(p for p in status["plugins"] if p["name"] == "sim")
    assert sim["state"] == "absent"
    assert all(not c["driver"].startswith("sim.") for c in status["drivers"].values())


def test_every_builtin_plugin_is_active_on_sim(make_app):
    status = make_app().extensions["portald"].host.status()
    builtins = [p for p in status["plugins"] if p["source"] == "builtin"]
    assert {p["name"] for p in builtins} >= {"linux", "sim", "hwmon", "system", "irtm"}
    assert all(p["state"] == "active" for p in builtins), builtins
    assert status["drivers"]["hwmon"]["driver"] == "sim.hwmon"
    assert status["drivers"]["board"]["driver"] == "sim.board"


def test_plugins_endpoint_needs_token(client):
    response = client.get("/platform/api/plugins")
    assert response.status_code == 401 and response.get_json()["Code"] == 401
