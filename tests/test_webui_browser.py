"""The web UI at ``/`` in a real browser: Playwright for Python driving Debian's Chromium
(``/usr/bin/chromium``, headless, kept off the network by a dead proxy) against ``portald run --sim``
on 127.0.0.1. Every page is checked with axe-core (no serious or critical violations) at a panel PC's
1280x800 and at a phone's width, and saved as a screenshot under the artifacts folder the first test
prints (``$TMPDIR/portald-webui-artifacts``)."""
from __future__ import annotations

import gzip
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright
from test_server import ADMIN_NEW, Daemon

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "portald" / "webui_dist"
AXE = ROOT / "webui" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
PANEL, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
PAGES = ["dashboard", "system", "peripherals", "network", "processes", "services", "terminal", "rdesk",
         "edgehub", "plugins"]
ARTIFACTS = Path(os.environ.get("TMPDIR") or tempfile.gettempdir()) / "portald-webui-artifacts"


# -- fixtures ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built():
    """The UI as `make webui` builds it (built here when it was not)."""
    if not (DIST / "index.html").is_file() or not AXE.is_file():
        subprocess.run([str(ROOT / "webui" / "build.sh")], check=True)
    return DIST


@pytest.fixture(scope="module")
def browser(built):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does it)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nweb UI screenshots: {ARTIFACTS}")
    with sync_playwright() as p:
        try:
            # a proxy that answers nothing keeps the browser off the network; only 127.0.0.1 bypasses it
            chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=127.0.0.1"])
        except PlaywrightError as exc:
            pytest.skip(f"chromium cannot start here: {exc.message.splitlines()[0]}")
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def daemon(tmp_path, built):
    started = Daemon(tmp_path, http=True)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def page(browser, daemon):
    """A fresh browser context on the daemon; any page error or CSP violation fails the test."""
    context = browser.new_context(viewport=PANEL, base_url=daemon.url)
    problems: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    tab.on("console", lambda msg: problems.append(f"console: {msg.text}")
           if msg.type == "error" and "Content Security Policy" in msg.text else None)
    tab.set_default_timeout(10_000)
    try:
        yield tab
        assert not problems, problems
    finally:
        context.close()


# -- helpers -----------------------------------------------------------------------------------------
def log_in(page, user: str, password: str, admin_account: bool) -> None:
    page.goto("/")
    page.get_by_label("Built-in admin account" if admin_account else "Operating-system account").check()
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def admin_logged_in(page, daemon) -> None:
    """The factory password changed through the API, then the admin account logged in through the UI."""
    daemon.admin_token()
    log_in(page, "admin", ADMIN_NEW, admin_account=True)
    expect(page.get_by_test_id("who")).to_have_attribute("data-role", "admin")


def open_page(page, name: str):
    page.get_by_role("navigation").get_by_role("link", name=name, exact=True).click()
    return page.locator(f".page[data-page]")


def axe_violations(page) -> list[str]:
    """Serious and critical axe-core findings on what the page shows now (evaluated, not injected as a
    <script>, so the page's CSP stays as served)."""
    if page.evaluate("typeof window.axe") == "undefined":
        page.evaluate(AXE.read_text())
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .filter(v => ['serious', 'critical'].includes(v.impact))
        .map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')})`)""")
    return found


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def chart_value(page, chart: str, series: str) -> str:
    return page.locator(f'[data-chart="{chart}"] output[data-series="{series}"]').inner_text()


# -- serving (no browser) ----------------------------------------------------------------------------
def test_index_is_never_cached_and_carries_a_strict_csp(built, client):
    page = client.get("/", headers={"Accept": "text/html", "Host": "127.0.0.1:8443"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b'<div id="app">' in page.data and page.headers["Cache-Control"] == "no-cache"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "'unsafe-eval'" not in csp
    assert "connect-src 'self' ws://127.0.0.1:8443 wss://127.0.0.1:8443;" in csp
    assert client.get("/", headers={"Accept": "application/json"}).get_json()["login"] == "/auth/login?m=2"


def test_hashed_assets_are_immutable_and_sent_gzipped(built, client):
    index = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    script = re.search(r'src="(/ui/assets/main\.[A-Z0-9]+\.js)"', index).group(1)
    plain = client.get(script)
    assert plain.status_code == 200 and plain.mimetype == "text/javascript"
    assert plain.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Content-Encoding" not in plain.headers
    gz = client.get(script, headers={"Accept-Encoding": "gzip, deflate"})
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.data) == plain.data


@pytest.mark.parametrize("name", ["index.html", "meta.json", "main.js.gz", "..%2Findex.html", "nope.ABC.js"])
def test_anything_but_a_built_asset_is_a_404(built, client, name):
    answer = client.get(f"/ui/assets/{name}")
    assert answer.status_code == 404 and "message" in answer.get_json()


def test_front_page_falls_back_to_the_text_page_when_the_ui_is_not_built(monkeypatch, tmp_path, make_app):
    from portald import webui

    monkeypatch.setattr(webui, "DIST", tmp_path / "not-built")
    page = make_app().test_client().get("/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and b"POST /auth/login?m=2" in page.data and b'id="app"' not in page.data


# -- tests -------------------------------------------------------------------------------------------
def test_factory_password_must_be_changed_first_then_the_dashboard_opens(page, daemon):
    log_in(page, "admin", "p@ssw0rd", admin_account=True)
    expect(page.get_by_role("heading", name="Choose a new admin password")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_label("New password", exact=True).fill(ADMIN_NEW)
    page.get_by_label("New password again").fill(ADMIN_NEW + "x")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("The two new passwords differ.")).to_be_visible()
    page.get_by_label("New password again").fill(ADMIN_NEW)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    # the factory password is gone for good: the API refuses it, and takes the new one
    assert daemon.post("/auth/login?m=2", json={"username": "admin", "password": "p@ssw0rd"}).status_code == 401
    assert daemon.post("/auth/login?m=2", json={"username": "admin", "password": ADMIN_NEW}).status_code == 200


def test_a_wrong_password_is_said_next_to_the_form(page, daemon):
    log_in(page, "admin", "not-the-password", admin_account=True)
    expect(page.locator("form .note.error")).to_contain_text("Wrong user name or password")


def test_dashboard_charts_move_with_the_event_stream(page, daemon):
    admin_logged_in(page, daemon)
    expect(page.locator('[data-chart="temperature"] output[data-series="CPU"]')).to_be_visible()
    first = chart_value(page, "temperature", "CPU")
    # the sim board's CPU temperature moves every sample; a new event must change the text and the chart
    expect(page.locator('[data-chart="temperature"] output[data-series="CPU"]')).not_to_have_text(first, timeout=15_000)
    expect(page.locator('[data-chart="cpu"] output[data-series="CPU 0"]')).to_contain_text("%")
    assert page.locator('[data-chart="temperature"] canvas').count() >= 1
    expect(page.get_by_test_id("uptime")).not_to_have_text("…")


def test_every_page_passes_axe_at_panel_and_phone_width(page, daemon):
    admin_logged_in(page, daemon)
    for size, viewport in (("panel", PANEL), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        for name in PAGES:
            page.goto(f"/#/{name}")
            body = page.locator(f'.page[data-page="{name}"]')
            expect(body).to_be_attached()
            page.wait_for_load_state("networkidle") if name not in ("dashboard",) else page.wait_for_timeout(2500)
            assert axe_violations(page) == [], (size, name)
            shot(page, f"{name}-{size}")
    # the phone layout hides the navigation behind a menu button that opens it
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("navigation").get_by_role("link", name="Plugins")).to_be_visible()


def test_plugins_page_lists_each_capability_with_its_driver(page, daemon):
    admin_logged_in(page, daemon)
    open_page(page, "Plugins")
    row = page.get_by_test_id("capabilities").get_by_role("row").filter(has=page.get_by_role("rowheader", name="gpio", exact=True))
    expect(row).to_contain_text("sim.gpio")
    expect(page.get_by_test_id("plugins")).to_contain_text("active")


def test_revoked_session_is_noticed_and_leads_back_to_login(page, daemon):
    admin_logged_in(page, daemon)
    expect(page.locator('[data-chart="temperature"] output[data-series="CPU"]')).to_be_visible()
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "jwt")
    assert requests.post(f"{daemon.url}/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=5).ok
    dialog = page.get_by_test_id("session-expired")
    expect(dialog).to_be_visible(timeout=20_000)
    assert axe_violations(page) == []
    shot(page, "session-expired")
    dialog.get_by_role("button", name="Log in again").click()
    expect(page.get_by_role("heading", name="Log in to this device")).to_be_visible()


def test_lost_connection_is_said_with_a_way_back(page, daemon):
    admin_logged_in(page, daemon)
    expect(page.locator('[data-chart="temperature"] output[data-series="CPU"]')).to_be_visible()
    daemon.stop()
    banner = page.get_by_test_id("offline")
    expect(banner).to_contain_text("Connection to the device lost", timeout=15_000)
    expect(banner.get_by_role("button", name="Back to login")).to_be_visible()


def _api_token(daemon) -> str:
    answer = daemon.post("/auth/login?m=2", json={"username": "admin", "password": ADMIN_NEW})
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def test_gpio_switch_sets_the_pin_and_the_api_reads_it_back(page, daemon):
    admin_logged_in(page, daemon)
    open_page(page, "Peripherals")
    headers = {"Authorization": f"Bearer {_api_token(daemon)}"}
    assert daemon.get("/platform/api/perif/gpio/0", headers=headers).json()["level"] == 0
    switch = page.get_by_test_id("gpio-0-level")
    expect(switch).not_to_be_checked()
    switch.click()
    expect(page.get_by_text("Pin 0 is now high.")).to_be_visible()
    assert daemon.get("/platform/api/perif/gpio/0", headers=headers).json()["level"] == 1
    switch.click()
    expect(page.get_by_text("Pin 0 is now low.")).to_be_visible()
    assert daemon.get("/platform/api/perif/gpio/0", headers=headers).json()["level"] == 0
    # an input pin's level cannot be set: its switch is disabled; making it an output enables it
    expect(page.get_by_test_id("gpio-4-level")).to_be_disabled()
    page.get_by_test_id("gpio-4-dir").select_option("0")
    expect(page.get_by_test_id("gpio-4-level")).to_be_enabled()
    assert daemon.get("/platform/api/perif/gpio/4", headers=headers).json()["dir"] == 0


def test_an_os_account_sees_every_write_disabled(page, daemon, os_user_factory):
    user = os_user_factory()
    log_in(page, user.name, user.password, admin_account=False)
    expect(page.get_by_test_id("who")).to_have_attribute("data-role", "user")
    open_page(page, "Peripherals")
    expect(page.get_by_test_id("gpio-0-level")).to_be_disabled()
    expect(page.get_by_test_id("led-0")).to_be_disabled()
    expect(page.get_by_test_id("gpio-0-dir")).to_be_disabled()
    expect(page.get_by_role("button", name="Apply")).to_be_disabled()
    open_page(page, "Services")
    expect(page.get_by_role("button", name="restart cron")).to_be_disabled()
    open_page(page, "System")
    expect(page.get_by_role("button", name="Reboot")).to_be_disabled()
    shot(page, "system-as-os-user")
    open_page(page, "Processes")
    # a process of another account (root's PID 1) cannot be killed from this account
    expect(page.get_by_role("button", name="Kill ", exact=False).first).to_be_attached()
    root_row = page.get_by_test_id("processes").get_by_role("row").filter(has=page.get_by_role("rowheader", name="1", exact=True))
    expect(root_row.get_by_role("button", name="Kill")).to_be_disabled()


def test_terminal_runs_a_command_and_shows_its_output(page, daemon, os_user_factory):
    user = os_user_factory()
    subprocess.run(["usermod", "--shell", "/bin/bash", user.name], check=True)
    log_in(page, user.name, user.password, admin_account=False)
    open_page(page, "Terminal")
    expect(page.get_by_text("Connected.")).to_be_visible()
    page.get_by_label("Terminal input").press_sequentially("echo $((6*7))\n")
    # the command line holds 6*7, never 42: a line reading 42 is the shell's output
    expect(page.locator(".xterm-rows > div").filter(has_text="42").filter(has_not_text="echo")).to_have_count(1)
    assert axe_violations(page) == []
    shot(page, "terminal-session")
    # the PTY's size follows the window: a narrower window, fewer columns for the shell
    wide = _tty_columns(page, 1)
    page.set_viewport_size({"width": 700, "height": 700})
    narrow = wide
    for attempt in range(2, 30):
        narrow = _tty_columns(page, attempt)
        if narrow < wide:
            break
        page.wait_for_timeout(100)
    assert narrow < wide, (wide, narrow)


def _tty_columns(page, mark: int) -> int:
    """Runs `stty size` in the open terminal; the columns it prints (on the line "N<mark> <rows> <cols>",
    which the echoed command line never matches)."""
    page.get_by_label("Terminal input").press_sequentially(f"echo N{mark} $(stty size)\n")
    line = page.locator(".xterm-rows > div").filter(has_text=re.compile(rf"^N{mark} \d+ \d+\s*$"))
    expect(line).to_have_count(1)
    return int(line.inner_text().split()[2])


def test_remote_desktop_draws_the_sim_boards_screen(page, daemon):
    admin_logged_in(page, daemon)
    open_page(page, "Remote desktop")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_text("Connected.")).to_be_visible(timeout=20_000)
    canvas = page.get_by_test_id("rdesk").locator("canvas")
    # the first framebuffer update has arrived once the canvas has the remote screen's size and its
    # pixels are painted: a canvas nothing drew on is transparent (alpha 0); Xvfb's screen is opaque
    page.wait_for_function("""() => {
        const c = document.querySelector('[data-testid=rdesk] canvas');
        if (!c || c.width < 100) return false;
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < px.length; i += 4 * 997) if (px[i] !== 255) return false;
        return true;
    }""", timeout=20_000)
    assert canvas.evaluate("c => [c.width, c.height]") == [1024, 768]
    shot(page, "rdesk-session")
    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_text("Disconnected.")).to_be_visible()


def test_network_change_waits_for_confirmation_with_a_countdown(page, daemon):
    admin_logged_in(page, daemon)
    open_page(page, "Network")
    headers = {"Authorization": f"Bearer {_api_token(daemon)}"}
    order = page.get_by_test_id("route-order")
    expect(order.locator("li").first).to_contain_text("eth0")
    page.get_by_role("button", name="Move eth0 down").click()
    expect(order.locator("li").first).to_contain_text("eth1")
    page.get_by_role("button", name="Apply this order").click()
    pending = page.get_by_test_id("pending")
    expect(pending).to_be_visible()
    first = int(pending.get_by_test_id("seconds-left").inner_text())
    expect(pending.get_by_test_id("seconds-left")).not_to_have_text(str(first), timeout=3000)
    assert daemon.get("/platform/api/networking/changes", headers=headers).json()["pending"] is not None
    assert axe_violations(page) == []
    shot(page, "network-pending-change")
    pending.get_by_role("button", name="Keep the change").click()
    expect(pending).to_be_hidden()
    assert daemon.get("/platform/api/networking/changes", headers=headers).json()["pending"] is None
    metrics = {n["name"]: n["ipv4Metric"] for n in daemon.get("/platform/api/networking/interfaces", headers=headers).json()}
    assert metrics["eth1"] < metrics["eth0"], metrics


def test_edgehub_settings_are_saved_with_secrets_masked_and_errors_in_words(page, daemon):
    admin_logged_in(page, daemon)
    open_page(page, "EdgeHub")
    form = page.get_by_test_id("conncfg")
    form.get_by_label("MQTT host").fill("broker.example")
    form.get_by_label("User name").fill("device-7")
    form.get_by_label("Password", exact=True).fill("s3cret-pw")
    expect(form.get_by_label("Password", exact=True)).to_have_attribute("type", "password")
    form.get_by_role("button", name="Show Password").click()
    expect(form.get_by_label("Password", exact=True)).to_have_attribute("type", "text")
    # a port the API refuses: its answer is said in words next to the form
    form.get_by_label("MQTT port").fill("70000")
    form.get_by_role("button", name="Save settings").click()
    expect(page.locator(".note.error")).to_contain_text("422")
    form.get_by_label("MQTT port").fill("1883")
    form.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    saved = daemon.get("/edgehub/api/conncfg", headers={"Authorization": f"Bearer {_api_token(daemon)}"}).json()
    assert saved["mqttHost"] == "broker.example" and saved["username"] == "device-7" and saved["mqttPort"] == 1883
    expect(page.get_by_text("messages waiting")).to_be_visible()


def test_keyboard_alone_logs_in_and_moves_between_pages(page, daemon):
    daemon.admin_token()
    page.goto("/")
    expect(page.get_by_label("User name")).to_be_focused()  # autofocus
    page.keyboard.press("Shift+Tab")  # back to the account type
    page.keyboard.press("ArrowDown")  # the built-in admin account (fills in "admin")
    page.keyboard.press("Tab")
    expect(page.get_by_label("User name")).to_have_value("admin")
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN_NEW)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Plugins":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Plugins", exact=True, level=1)).to_be_focused()
    expect(page.get_by_test_id("capabilities")).to_be_visible()


def test_services_and_processes_tables_sort_filter_and_say_refusals(page, daemon):
    admin_logged_in(page, daemon)
    open_page(page, "Services")
    table = page.get_by_test_id("services")
    page.get_by_label("Filter").fill("cron")
    expect(table.locator("tbody tr")).to_have_count(1)
    page.get_by_label("Filter").fill("")
    table.get_by_role("button", name="Name").click()  # sorted by name already: now descending
    expect(table.locator("thead th").first).to_have_attribute("aria-sort", "descending")
    expect(table.locator("tbody tr").first.locator("th")).to_have_text("ssh")
    # each action asks first; Cancel does nothing
    table.get_by_role("button", name="start broken", exact=True).click()
    page.get_by_test_id("confirm").get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id("confirm")).to_have_count(0)
    # the sim board's "broken" service fails to start: the refusal is said in words
    table.get_by_role("button", name="start broken", exact=True).click()
    page.get_by_test_id("confirm").get_by_role("button", name="start", exact=True).click()
    expect(page.locator(".note.error")).to_contain_text("broken: start:")
    table.get_by_role("button", name="restart cron").click()
    page.get_by_test_id("confirm").get_by_role("button", name="restart").click()
    expect(page.get_by_text("cron: restart done.")).to_be_visible()
    open_page(page, "Processes")
    procs = page.get_by_test_id("processes")
    expect(procs.locator("thead th").nth(3)).to_have_attribute("aria-sort", "descending")  # CPU %, busiest first
    page.get_by_label("Filter").fill("kthreadd")
    expect(procs.locator("tbody tr")).to_have_count(1)


def test_etp_user_data_is_saved_then_locked_and_unlocked(page, daemon):
    admin_logged_in(page, daemon)
    open_page(page, "Peripherals")
    page.get_by_label("User space 1 (up to 128 bytes)").fill("line 7, cell 3")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("User data saved.")).to_be_visible()
    headers = {"Authorization": f"Bearer {_api_token(daemon)}"}
    assert daemon.get("/platform/api/etp/userdata", headers=headers).json()["data"]["userSpace1"] == "line 7, cell 3"
    page.get_by_label("Lock password (up to 8 characters)").fill("k3y")
    page.get_by_role("button", name="Lock", exact=True).click()
    expect(page.get_by_text("Locked.", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_be_disabled()
    assert daemon.get("/platform/api/etp/userdata/lockstatus", headers=headers).json()["locked"] is True
    page.get_by_label("Lock password (up to 8 characters)").fill("wrong")
    page.get_by_role("button", name="Unlock").click()
    expect(page.locator(".note.error")).not_to_be_empty()
    page.get_by_label("Lock password (up to 8 characters)").fill("k3y")
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_text("Unlocked.", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_be_enabled()
