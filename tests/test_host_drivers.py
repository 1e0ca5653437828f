"""The drivers behind host info and the profile's system keys, alone: the Linux ``host`` and ``system``
drivers against the fixture trees (everything under the configured roots, host files from settings),
the Linux ``display`` driver without a display, and the sim board's virtual host (its own identity, a
boot per daemon start)."""
from __future__ import annotations

import os
import socket

import psutil
import pytest

from portald.runner import CommandRunner
from portald_plugins.boards.linux import host_paths
from portald_plugins.boards.linux.display import Settings as DisplaySettings, X11Display
from portald_plugins.boards.linux.host import LinuxHostDriver, Settings as HostSettings
from portald_plugins.boards.linux.system import LinuxSystemDriver, Settings as SystemSettings, parse_os_release
from portald_plugins.boards.sim.host import HOSTNAME, MACHINE_ID, SimHostDriver

from conftest import ADMIN_PASSWORD, FIXTURES, admin_token, bearer, login

UNO = FIXTURES / "machines" / "uno-2484g"
IMX8 = FIXTURES / "machines" / "imx8-gateway"


def _host(tree, **settings) -> LinuxHostDriver:
    defaults = {"machine_id_file": str(tree / "etc" / "machine-id"),
                "image_version_file": str(tree / "etc" / "image-version"), "docker_command": "portald-no-docker"}
    return LinuxHostDriver(tree / "proc", CommandRunner(), HostSettings(**{**defaults, **settings}))


# --- linux host -------------------------------------------------------------------------------------

def test_linux_host_driver_reads_the_tree_under_procfs_root_and_the_configured_files():
    driver = _host(UNO)
    assert driver.probe()
    assert driver.hostname() == "UNO-2484G-673xA"
    assert driver.boot_time() == 1619413851 and driver.uptime() == 851779
    assert driver.boot_id() == (UNO / "proc" / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    assert driver.machine_id() == "d6d6752c-a6d4-4d02-96b1-96e2d3a8d2b2"
    assert driver.image_version() == "6.04 Build 005"
    assert driver.docker_version() == ""


def test_linux_host_driver_answers_empty_for_what_the_tree_lacks(tmp_path):
    driver = _host(IMX8, machine_id_file=str(tmp_path / "absent"), image_version_file="")
    assert driver.hostname() == "imx8-gateway" and driver.uptime() == 42
    assert driver.machine_id() == "" and driver.image_version() == ""
    bare = _host(tmp_path)  # no proc at all
    assert (bare.hostname(), bare.boot_id(), bare.boot_time(), bare.uptime()) == ("", "", 0, 0)


def test_linux_host_settings_default_to_the_host_paths_and_reject_unknown_keys():
    assert HostSettings().machine_id_file == host_paths.MACHINE_ID_FILE == "/etc/machine-id"
    with pytest.raises(ValueError):
        HostSettings(machine_id="x")


# --- linux system -----------------------------------------------------------------------------------

def test_os_release_values_are_unquoted_as_the_shell_would():
    text = ('# comment\nNAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
            "ID=debian\nVERSION='12 (bookworm)'\nBAD=\"unbalanced\nHOME_URL=\"https://www.debian.org/\"\n")
    fields = parse_os_release(text)
    assert fields["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)"
    assert fields["ID"] == "debian" and fields["VERSION"] == "12 (bookworm)"
    assert "BAD" not in fields and fields["HOME_URL"] == "https://www.debian.org/"


def test_linux_system_driver_reads_the_first_os_release_that_exists(tmp_path):
    usr_lib = tmp_path / "os-release"
    usr_lib.write_text('PRETTY_NAME="Yocto Edge 4.0"\n')
    driver = LinuxSystemDriver(tmp_path, [str(tmp_path / "absent"), str(usr_lib)])
    assert driver.os()["pretty_name"] == "Yocto Edge 4.0"
    assert LinuxSystemDriver(tmp_path, [str(tmp_path / "absent")]).os()["pretty_name"] == ""
    assert SystemSettings().os_release_files == list(host_paths.OS_RELEASE_FILES)


def test_linux_system_driver_reads_the_kernel_under_procfs_root_else_uname(tmp_path):
    kernel = tmp_path / "proc" / "sys" / "kernel"
    kernel.mkdir(parents=True)
    (kernel / "ostype").write_text("Linux\n")
    (kernel / "osrelease").write_text("5.10.72-imx8\n")
    (kernel / "arch").write_text("aarch64\n")
    facts = LinuxSystemDriver(tmp_path / "proc", []).os()
    assert facts == {"name": "linux", "arch": "aarch64", "release": "5.10.72-imx8", "pretty_name": ""}
    uname = os.uname()
    facts = LinuxSystemDriver(tmp_path / "no-proc", []).os()
    assert (facts["name"], facts["arch"], facts["release"]) == (uname.sysname.lower(), uname.machine, uname.release)


def test_linux_system_driver_primary_address_is_the_default_routes_interface(tmp_path):
    iface, ipv4 = next((name, a.address) for name, addrs in psutil.net_if_addrs().items()
                       for a in addrs if a.family == socket.AF_INET)
    route = tmp_path / "net" / "route"
    route.parent.mkdir()
    route.write_text("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                     f"no-such0\t00000000\t0100007F\t0003\t0\t0\t5\t00000000\t0\t0\t0\n"
                     f"{iface}\t00000000\t0100007F\t0003\t0\t0\t0\t00000000\t0\t0\t0\n")
    assert next(LinuxSystemDriver(tmp_path, [])._candidates()) == iface  # metric 0 beats 5
    assert LinuxSystemDriver(tmp_path, []).primary_address()[0] == ipv4


# --- linux display ----------------------------------------------------------------------------------

def test_linux_display_driver_without_a_display_is_absent_and_asks_x_nothing(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    settings = DisplaySettings()
    assert settings.display == ""
    driver = X11Display(settings.display, settings.timeout_seconds)
    assert driver.probe() is False and "no X display" in driver.absent_reason
    assert driver.blocking is True


def test_screenshot_without_a_display_driver_is_422_with_the_reason(make_app):
    app = make_app(plugins={"linux": {"display": {"display": ""}}})
    client = app.test_client()
    response = client.get("/platform/api/host/screenshot/0", headers=bearer(admin_token(client)))
    assert response.status_code == 422 and "no X display" in response.get_json()["errors"]["Host"]


# --- sim host ---------------------------------------------------------------------------------------

def test_sim_host_driver_is_a_virtual_machine_booted_with_the_driver():
    clock = [1_800_000_000.0]
    driver = SimHostDriver(clock=lambda: clock[0])
    assert driver.hostname() == HOSTNAME != socket.gethostname()
    assert driver.machine_id() == MACHINE_ID and driver.docker_version() == ""
    clock[0] += 90.5
    assert driver.boot_time() == 1_800_000_000 and driver.uptime() == 90
    assert driver.boot_id() != SimHostDriver().boot_id()


def test_sim_board_host_info_counts_a_boot_per_daemon_start(make_app):
    counts = []
    for run in range(3):
        app = make_app()
        client = app.test_client()
        token = admin_token(client) if run == 0 else login(client, "admin", ADMIN_PASSWORD).get_json()["token"]
        data = client.get("/platform/api/host/info", headers=bearer(token)).get_json()
        assert data["hostname"] == HOSTNAME and data["hostid"] == MACHINE_ID
        assert 0 <= data["upTime"] <= 5
        counts.append(data["bootCount"])
        app.extensions["portald"].shutdown()
    assert counts == [1, 2, 3]
    choices = app.extensions["portald"].host.status()["drivers"]
    assert choices["host"]["driver"] == "sim.host" and choices["system"]["driver"] == "linux.system"
