"""``/platform/api/control``: reboot and shutdown (commands pointed at a harmless script, never the real
ones), display power on the sim board, on a real Xvfb (which has no DPMS extension: the 404 path) and
through ``bl_power`` in a copy of the panel-pc fixture tree."""
from __future__ import annotations

import logging
import shutil
import stat

import gevent
import pytest

from conftest import FIXTURES, admin_token, bearer, login
from test_host_display import xvfb  # noqa: F401  (a fixture: real Xvfb servers, stopped afterwards)

NEVER_RUN = ["/bin/false"]  # what a test's commands default to: nothing that could reach the machine


def _script(tmp_path, name: str, body: str):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _linux_app(make_app, tmp_path, control: dict, sysfs_root=None, delay=0.0):
    """The Linux control driver (chosen over the sim board's), its reboot and shutdown commands always
    overridden: a test never reaches systemctl."""
    settings = {"reboot_command": NEVER_RUN, "shutdown_command": NEVER_RUN, "display": "", **control}
    overrides = {"drivers": {"control": ["linux.control"]},
                 "plugins": {"control": {"delay_seconds": delay}, "linux": {"control": settings}}}
    if sysfs_root is not None:
        overrides["sysfs_root"] = str(sysfs_root)
    app = make_app(**overrides)
    assert app.extensions["portald"].host.drivers["control"].name == "linux.control"
    client = app.test_client()
    return client, bearer(admin_token(client))


def _wait_for(check, timeout: float = 5.0) -> None:
    with gevent.Timeout(timeout):
        while not check():
            gevent.sleep(0.02)


# -- reboot and shutdown -------------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["reboot", "shutdown"])
def test_power_command_runs_exactly_once_after_the_answer(make_app, tmp_path, action):
    ran = tmp_path / "ran"
    script = _script(tmp_path, "power.sh", f'echo "$1" >> "{ran}"\n')
    client, headers = _linux_app(make_app, tmp_path, {f"{action}_command": [str(script), action]}, delay=0.2)
    response = client.post(f"/platform/api/control/{action}", headers=headers)
    assert response.status_code == 200
    assert not ran.exists()  # answered first: the command waits for the delay
    again = client.post(f"/platform/api/control/{action}", headers=headers)
    assert again.status_code == 422 and "already under way" in again.get_json()["errors"]["Control"]
    _wait_for(ran.exists)
    gevent.sleep(0.3)
    assert ran.read_text() == f"{action}\n"


def test_a_failing_power_command_is_logged_after_the_200(make_app, tmp_path, caplog):
    script = _script(tmp_path, "fail.sh", 'echo "no way" >&2\nexit 3\n')
    client, headers = _linux_app(make_app, tmp_path, {"reboot_command": [str(script)]})
    with caplog.at_level(logging.INFO, logger="portald.plugins.control"):
        assert client.post("/platform/api/control/reboot", headers=headers).status_code == 200
        _wait_for(lambda: any(r.levelno == logging.ERROR for r in caplog.records))
    messages = [r.getMessage() for r in caplog.records]
    assert any("reboot requested by admin" in m for m in messages)
    assert any("exited 3: no way" in m and r.levelno == logging.ERROR for r, m in zip(caplog.records, messages))
    # the failure released the request: the next one is accepted
    assert client.post("/platform/api/control/reboot", headers=headers).status_code == 200


def test_sim_records_reboot_and_shutdown_and_executes_nothing(make_app):
    app = make_app(plugins={"control": {"delay_seconds": 0}})
    client = app.test_client()
    headers = bearer(admin_token(client))
    driver = app.extensions["portald"].host.drivers["control"]
    assert driver.name == "sim.control"
    assert client.post("/platform/api/control/reboot", headers=headers).status_code == 200
    _wait_for(lambda: driver.saved["reboots"] == 1)
    assert client.post("/platform/api/control/shutdown", headers=headers).status_code == 200
    _wait_for(lambda: driver.saved["shutdowns"] == 1)
    gevent.sleep(0.05)
    assert driver.saved == {"display": "on", "reboots": 1, "shutdowns": 1}


def test_control_needs_a_token_and_power_needs_an_administrator(client, os_user_factory):
    for method, url in (("post", "reboot"), ("post", "shutdown"), ("get", "display"), ("put", "display")):
        response = getattr(client, method)(f"/platform/api/control/{url}", json={"status": "on"})
        assert response.status_code == 401 and response.get_json()["Code"] == 401
    user = os_user_factory()
    token = login(client, user.name, user.password, m=0).get_json()["token"]
    for method, url in (("post", "reboot"), ("post", "shutdown"), ("put", "display")):
        response = getattr(client, method)(f"/platform/api/control/{url}", json={"status": "on"},
                                           headers=bearer(token))
        assert response.status_code == 403 and response.get_json()["Code"] == 403, url
    assert client.get("/platform/api/control/display", headers=bearer(token)).status_code == 204


# -- display power -----------------------------------------------------------------------------------

def test_sim_display_power_is_kept_across_a_restart(make_app):
    client = make_app().test_client()
    headers = bearer(admin_token(client))
    assert client.get("/platform/api/control/display", headers=headers).status_code == 204
    assert client.put("/platform/api/control/display", json={"status": "off"}, headers=headers).status_code == 200
    restarted = make_app()
    assert restarted.extensions["portald"].host.drivers["control"].display_on() is False


@pytest.mark.parametrize("body", [{"status": "dim"}, {"status": True}, {}, {"status": "on", "extra": 1}, [1]])
def test_bad_display_bodies_are_422_control(client, admin_headers, body):
    response = client.put("/platform/api/control/display", json=body, headers=admin_headers)
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"Control"}


def test_not_json_display_body_is_422_control(client, admin_headers):
    response = client.put("/platform/api/control/display", data=b"on", headers={**admin_headers,
                          "Content-Type": "application/json"})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"Control"}


def test_real_xvfb_without_dpms_and_no_backlight_is_404_and_422(make_app, tmp_path, xvfb):  # noqa: F811
    server = xvfb()
    client, headers = _linux_app(make_app, tmp_path, {"display": server.display})
    assert client.get("/platform/api/control/display", headers=headers).status_code == 404
    response = client.put("/platform/api/control/display", json={"status": "off"}, headers=headers)
    assert response.status_code == 422
    assert "no DPMS" in response.get_json()["errors"]["Control"]


def test_bl_power_fallback_in_the_panel_pc_tree(make_app, tmp_path, xvfb):  # noqa: F811
    tree = tmp_path / "panel-pc"
    shutil.copytree(FIXTURES / "machines" / "panel-pc" / "sys", tree / "sys", symlinks=True)
    bl_power = tree / "sys" / "devices" / "platform" / "backlight" / "backlight" / "backlight" / "bl_power"
    assert bl_power.read_text().strip() == "0"
    server = xvfb()  # an X display without DPMS: the driver falls back to the backlight
    client, headers = _linux_app(make_app, tmp_path, {"display": server.display}, sysfs_root=tree / "sys")
    assert client.get("/platform/api/control/display", headers=headers).status_code == 204
    assert client.put("/platform/api/control/display", json={"status": "off"}, headers=headers).status_code == 200
    assert bl_power.read_text() == "4\n"
    assert client.put("/platform/api/control/display", json={"status": "on"}, headers=headers).status_code == 200
    assert bl_power.read_text() == "0\n"


# xset's half of DPMS. Debian's Xvfb has no DPMS extension (not even with +extension DPMS), so the switch
# itself is exercised against this stand-in for xset, which prints what xset prints for a server with
# DPMS and keeps the monitor's state in a file; ``stuck`` makes a monitor that ignores "force".
FAKE_XSET = '''STATE="{state}"
[ -f "$STATE" ] || echo {initial} > "$STATE"
case "$1" in
  q) printf 'DPMS (Energy Star):\\n  Standby: 600    Suspend: 600    Off: 600\\n'
     if [ "$(cat "$STATE")" = Disabled ]; then echo '  DPMS is Disabled'
     else printf '  DPMS is Enabled\\n  Monitor is %s\\n' "$(cat "$STATE")"; fi ;;
  dpms) [ "{stuck}" = yes ] || {{ [ "$3" = off ] && echo Off > "$STATE" || echo On > "$STATE"; }} ;;
esac
echo "$DISPLAY $*" >> "{calls}"
'''


@pytest.mark.parametrize("initial,stuck", [("On", False), ("Disabled", False), ("On", True)])
def test_dpms_switch_is_read_back(make_app, tmp_path, initial, stuck):
    state, calls = tmp_path / "monitor", tmp_path / "calls"
    xset = _script(tmp_path, "xset", FAKE_XSET.format(state=state, calls=calls, initial=initial,
                                                      stuck="yes" if stuck else "no"))
    client, headers = _linux_app(make_app, tmp_path, {"display": ":42", "xset_command": str(xset)})
    assert client.get("/platform/api/control/display", headers=headers).status_code == 204
    response = client.put("/platform/api/control/display", json={"status": "off"}, headers=headers)
    if stuck:
        assert response.status_code == 422
        assert "did not turn the monitor off" in response.get_json()["errors"]["Control"]
        return
    assert response.status_code == 200 and state.read_text() == "Off\n"
    assert ":42 dpms force off" in calls.read_text().splitlines()
    assert client.put("/platform/api/control/display", json={"status": "on"}, headers=headers).status_code == 200
    assert state.read_text() == "On\n"
