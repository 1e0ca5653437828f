"""The web UI in a real browser, the paths ``test_webui_browser.py`` leaves out: a session that ends by
its token expiring (the page's clock moved with Playwright's clock API, also when the browser's clock
is hours off the device's), the peripherals' LED, watchdog and brightness read back through the API, a
static address applied and rolled back, a Wi-Fi scan and a refused join, and a confirmed reboot.

Same browser, page and helpers as ``test_webui_browser.py``; the daemon here runs with the shortest
token lifetime (60 s) and with the generic Linux board's control driver, whose reboot and shutdown
commands are harmless ones that touch a file under ``tmp_path``; should those settings ever be ignored,
its ``PATH`` starts with stand-ins for ``systemctl``, ``reboot``, ``poweroff``, ``shutdown`` and ``halt``
that only record how they were called (and fail), and a test fails when one was asked to power off.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re

import pytest
from playwright.sync_api import expect
from test_server import ADMIN_NEW, Daemon
from test_webui_browser import (  # noqa: F401  (fixtures, used by name)
    _api_token, admin_logged_in, axe_violations, browser, built, log_in, open_page, page, shot,
)

TTL = 60  # [auth] token_ttl_seconds: its lowest allowed value
GUARDED = ("systemctl", "reboot", "poweroff", "shutdown", "halt")
POWER_WORDS = re.compile(r"\b(reboot|poweroff|shutdown|halt|kexec)\b")


@pytest.fixture
def daemon(tmp_path, built, monkeypatch):
    """``portald run --sim`` with a 60 s token lifetime and harmless reboot/shutdown commands."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in GUARDED:
        guard = bin_dir / name
        guard.write_text(f'#!/bin/sh\necho "$(basename "$0") $*" >> "{tmp_path}/guarded-commands"\nexit 1\n')
        guard.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("PORTALD_AUTH__TOKEN_TTL_SECONDS", str(TTL))
    monkeypatch.setenv("PORTALD_DRIVERS__CONTROL", '["linux.control"]')
    monkeypatch.setenv("PORTALD_PLUGINS__CONTROL__DELAY_SECONDS", "0.2")
    monkeypatch.setenv("PORTALD_PLUGINS__LINUX__CONTROL__REBOOT_COMMAND", json.dumps(["touch", str(tmp_path / "rebooted")]))
    monkeypatch.setenv("PORTALD_PLUGINS__LINUX__CONTROL__SHUTDOWN_COMMAND", json.dumps(["touch", str(tmp_path / "shut-down")]))
    monkeypatch.setenv("PORTALD_PLUGINS__LINUX__CONTROL__DISPLAY", '""')
    started = Daemon(tmp_path, http=True)
    try:
        yield started
    finally:
        started.stop()
        called = tmp_path / "guarded-commands"
        assert not POWER_WORDS.search(called.read_text() if called.exists() else ""), called.read_text()


def _headers(daemon) -> dict:
    return {"Authorization": f"Bearer {_api_token(daemon)}"}


# -- the session ends by its token expiring -----------------------------------------------------------
@pytest.mark.parametrize("skew_hours", [0, 3, -3], ids=["same-clock", "browser-ahead", "browser-behind"])
def test_expired_token_ends_the_session_on_time_whatever_the_browsers_clock(page, daemon, skew_hours):
    # the page's clock is Playwright's: it starts `skew_hours` off the device's and moves only when told
    page.clock.install(time=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=skew_hours))
    daemon.admin_token()
    log_in(page, "admin", ADMIN_NEW, admin_account=True)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    dialog = page.get_by_test_id("session-expired")
    page.clock.run_for(1000)
    expect(dialog).to_be_hidden()
    page.clock.fast_forward((TTL - 10) * 1000)
    expect(dialog).to_be_hidden()
    page.clock.fast_forward(11_000)  # past the token's lifetime
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("The session has expired.")
    assert axe_violations(page) == []
    shot(page, f"session-expired-by-time-{skew_hours:+d}h")
    dialog.get_by_role("button", name="Log in again").click()
    expect(page.get_by_role("heading", name="Log in to this device")).to_be_visible()
    log_in(page, "admin", ADMIN_NEW, admin_account=True)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    # the new session has a lifetime of its own, counted from this login
    page.clock.fast_forward((TTL - 10) * 1000)
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("who")).to_have_attribute("data-role", "admin")


# -- peripherals --------------------------------------------------------------------------------------
def test_led_watchdog_and_brightness_are_set_and_read_back_through_the_api(page, daemon):
    admin_logged_in(page, daemon)
    open_page(page, "Peripherals")
    headers = _headers(daemon)
    # LED 0: switched on and off, each read back
    before = daemon.get("/platform/api/perif/led/0", headers=headers).json()
    led = page.get_by_test_id("led-0")
    expect(led).to_be_checked(checked=before)
    led.click()
    expect(page.get_by_text(f"LED 0 {'off' if before else 'on'}.", exact=True)).to_be_visible()
    assert daemon.get("/platform/api/perif/led/0", headers=headers).json() is (not before)
    led.click()
    expect(page.get_by_text(f"LED 0 {'on' if before else 'off'}.", exact=True)).to_be_visible()
    assert daemon.get("/platform/api/perif/led/0", headers=headers).json() is before
    # the watchdog: enabled with a 30 s timeout
    assert daemon.get("/platform/api/perif/wdt", headers=headers).json()["enabled"] is False
    page.get_by_test_id("wdt-enabled").check()
    page.get_by_label("Timeout in seconds", exact=False).fill("30")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Watchdog enabled, timeout 30 s.")).to_be_visible()
    wdt = daemon.get("/platform/api/perif/wdt", headers=headers).json()
    assert wdt["enabled"] is True and wdt["timeoutInSeconds"] == 30, wdt
    # a timeout below the watchdog's range is stopped by the form (the browser says why), never sent
    seconds = page.get_by_label("Timeout in seconds", exact=False)
    seconds.fill("5")
    page.get_by_role("button", name="Apply").click()
    assert seconds.evaluate("el => el.validity.rangeUnderflow && el.validationMessage !== ''")
    assert daemon.get("/platform/api/perif/wdt", headers=headers).json()["timeoutInSeconds"] == 30
    # the brightness slider, from the keyboard: three steps up, one down
    start = daemon.get("/platform/api/perif/brightness", headers=headers).json()["value"]
    slider = page.get_by_label("Backlight")
    slider.focus()
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "ArrowLeft"):
        page.keyboard.press(key)
    want = start + 2
    expect(slider).to_have_value(str(want))
    expect(page.get_by_text(f"Brightness {want}.", exact=True)).to_be_visible()
    assert daemon.get("/platform/api/perif/brightness", headers=headers).json()["value"] == want
    assert axe_violations(page) == []
    shot(page, "peripherals-after-changes")


# -- network ------------------------------------------------------------------------------------------
def _nic(daemon, headers, name: str) -> dict:
    return next(n for n in daemon.get("/platform/api/networking/interfaces", headers=headers).json() if n["name"] == name)


def test_static_address_applied_then_rolled_back_restores_dhcp(page, daemon):
    admin_logged_in(page, daemon)
    open_page(page, "Network")
    headers = _headers(daemon)
    before = _nic(daemon, headers, "eth0")
    assert before["dhcpEnabled"] is True
    page.get_by_text("Configure eth0").click()
    form = page.locator("details", has=page.get_by_text("Configure eth0")).locator("form")
    form.get_by_label("Static").check()
    form.get_by_label("IP address").fill("192.168.10.77")
    form.get_by_label("Subnet mask").fill("255.255.255.0")
    form.get_by_label("Default gateway").fill("192.168.10.1")
    form.get_by_label("Primary DNS").fill("192.168.10.1")
    form.get_by_role("button", name="Apply to eth0").click()
    page.get_by_test_id("confirm").get_by_role("button", name="Apply", exact=True).click()
    pending = page.get_by_test_id("pending")
    expect(pending).to_be_visible()
    left = pending.get_by_test_id("seconds-left")
    expect(left).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(form.locator(".note")).to_contain_text("waiting for your confirmation")
    applied = _nic(daemon, headers, "eth0")
    assert applied["dhcpEnabled"] is False and "192.168.10.77/24" in applied["addresses"], applied
    shot(page, "network-static-pending")
    pending.get_by_role("button", name="Roll back now").click()
    expect(pending).to_be_hidden()
    expect(page.get_by_text("Rolled back.", exact=True)).to_be_visible()
    after = _nic(daemon, headers, "eth0")
    assert after["dhcpEnabled"] is True and after["addresses"] == before["addresses"], (before, after)
    assert daemon.get("/platform/api/networking/changes", headers=headers).json()["pending"] is None


def test_wifi_scan_lists_the_access_points_and_a_wrong_passphrase_is_said(page, daemon):
    admin_logged_in(page, daemon)
    open_page(page, "Network")
    headers = _headers(daemon)
    seen = daemon.get("/platform/api/networking/wifi/networks/wlan0", headers=headers).json()
    page.get_by_role("button", name="Scan for networks").click()
    expect(page.get_by_text(f"{len(seen)} networks found.")).to_be_visible()
    table = page.get_by_role("region", name="Networks seen by wlan0")
    for network in seen:
        expect(table.get_by_role("rowheader", name=network["ssid"], exact=True)).to_be_visible()
    expect(table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Plant-Floor", exact=True))).to_contain_text("connected")
    # a WPA2-Personal network whose name is not UTF-8 (shown with U+FFFD), joined with the wrong passphrase
    row = table.get_by_role("row").filter(has_text="-Nord")
    expect(row).to_contain_text("WPA2-Personal")
    row.get_by_label("Passphrase for", exact=False).fill("not-the-key")
    row.get_by_role("button", name="Join").click()
    status = page.locator(".note.error")
    expect(status).to_contain_text("wrong passphrase")
    assert axe_violations(page) == []
    shot(page, "network-wifi-refused")
    assert daemon.get("/platform/api/networking/changes", headers=headers).json()["pending"] is None
    profiles = daemon.get("/platform/api/networking/wifi/interfaces", headers=headers).json()[0]["profiles"]
    assert [p["name"] for p in profiles] == ["Plant-Floor"], profiles


# -- system -------------------------------------------------------------------------------------------
def test_confirmed_reboot_runs_the_configured_command(page, daemon, tmp_path):
    headers = {"Authorization": f"Bearer {daemon.admin_token()}"}
    drivers = daemon.get("/platform/api/plugins", headers=headers).json()["drivers"]
    assert drivers["control"]["driver"] == "linux.control", drivers  # the harmless commands, not the sim's
    log_in(page, "admin", ADMIN_NEW, admin_account=True)
    open_page(page, "System")
    rebooted = tmp_path / "rebooted"
    # Cancel asks nothing of the daemon
    page.get_by_role("button", name="Reboot").click()
    confirm = page.get_by_test_id("confirm")
    expect(confirm).to_contain_text("The device will restart")
    assert axe_violations(page) == []
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_have_count(0)
    page.wait_for_timeout(500)  # past [plugins.control] delay_seconds: a wrongly sent request would have run
    assert not rebooted.exists()
    page.get_by_role("button", name="Reboot").click()
    confirm.get_by_role("button", name="Reboot").click()
    expect(page.get_by_text("Reboot: under way.")).to_be_visible()
    shot(page, "system-reboot-accepted")
    for _ in range(50):
        if rebooted.exists():
            break
        page.wait_for_timeout(100)
    assert rebooted.exists()
    assert not (tmp_path / "shut-down").exists()


# -- focus while a page's code loads --------------------------------------------------------------------
def test_focus_moved_by_the_keyboard_stays_while_the_page_loads(page, daemon):
    daemon.admin_token()
    page.goto("/")
    expect(page.get_by_role("heading", name="Log in to this device")).to_be_visible()
    # each page's code is a chunk loaded when first opened: the dashboard's is held until released
    held = []

    def hold_the_first(route):
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(r"/ui/assets/chunk\.[A-Z0-9]+\.js$"), hold_the_first)
    page.get_by_label("Built-in admin account").check()
    page.get_by_label("Password", exact=True).fill(ADMIN_NEW)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "the dashboard's code was not asked for"
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    held[0].continue_()
    expect(page.locator('[data-chart="temperature"]')).to_be_attached()
    page.wait_for_load_state("networkidle")
    expect(skip).to_be_focused()
