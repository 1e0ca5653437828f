"""``/platform/api/host/display/count`` and ``/screenshot/:index[/file]`` against real Xvfb servers.

Each test starts its own Xvfb (``-displayfd`` lets the server pick a free display number, so tests never
collide with a desktop's ``:0``), paints it with ``xsetroot`` and checks the pixels of the PNG the daemon
returns. Two monitors: one 640x200 X screen split into two RandR 1.5 monitors with ``xrandr --setmonitor``,
which is how a real dual-head machine presents itself and what mss enumerates. (Xvfb's ``-screen 1`` makes
a second X *screen*, and ``+xinerama`` joins them, but RandR then still reports one monitor.) ``-noreset``
matters: without it Xvfb resets when its last client leaves, dropping the monitors and the painted root.
"""
from __future__ import annotations

import base64
import io
import os
import select
import shutil
import signal
import subprocess
import time

import gevent
import pytest
from PIL import Image

from conftest import admin_token, bearer

RED, BLUE = (255, 0, 0), (0, 0, 255)


def _read_line(fd: int, deadline: float) -> str:
    # Xvfb writes the number and its newline in two write()s and dies of EPIPE if the pipe is closed
    # in between, so read up to the newline.
    data = b""
    while not data.endswith(b"\n") and select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
        chunk = os.read(fd, 32)
        if not chunk:
            break
        data += chunk
    return data.decode().strip()


class Xvfb:
    def __init__(self, width: int, height: int):
        if shutil.which("Xvfb") is None or shutil.which("xsetroot") is None:
            pytest.fail("Xvfb and xsetroot are missing: apt-get install xvfb x11-xserver-utils (make test does)")
        self.width, self.height = width, height
        read_end, write_end = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp",
             "-noreset"], pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_end)
        try:
            number = _read_line(read_end, deadline=time.monotonic() + 15)
        finally:
            os.close(read_end)
        if not number.isdigit():
            self.stop()
            pytest.fail("Xvfb did not report its display number within 15 s")
        self.display = f":{number}"

    def x(self, *argv: str) -> None:
        subprocess.run(argv, env={**os.environ, "DISPLAY": self.display}, check=True, timeout=10,
                       stdout=subprocess.DEVNULL)

    def paint(self, color: str) -> None:
        self.x("xsetroot", "-solid", color)

    def split_in_two(self, tmp_path, left: str, right: str) -> None:
        """Two side-by-side monitors, the left one primary, painted ``left`` and ``right``."""
        half = self.width // 2
        # An XBM as wide as the screen and one row high, left half set: xsetroot tiles it over the root,
        # foreground on the left monitor, background on the right. Short lines: libX11's XBM reader
        # takes the declaration line with a 255-byte buffer.
        row = [0xFF] * (half // 8) + [0x00] * ((self.width - half) // 8)
        values = [f"0x{b:02x}" for b in row]
        body = ",\n".join(", ".join(values[i:i + 12]) for i in range(0, len(values), 12))
        xbm = tmp_path / "halves.xbm"
        xbm.write_text(f"#define halves_width {self.width}\n#define halves_height 1\n"
                       f"static unsigned char halves_bits[] = {{\n{body} }};\n")
        self.x("xsetroot", "-bitmap", str(xbm), "-fg", left, "-bg", right)
        mm = f"{half}/{half * 254 // 960}x{self.height}/{self.height * 254 // 960}"
        # The left monitor takes over Xvfb's one output ("screen") so the automatic whole-screen monitor
        # of that output goes away; the right one is outputless, as a client-defined monitor may be.
        self.x("xrandr", "--setmonitor", "*left", f"{mm}+0+0", "screen")
        self.x("xrandr", "--setmonitor", "right", f"{mm}+{half}+0", "none")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def xvfb():
    servers = []

    def start(width: int = 320, height: int = 200) -> Xvfb:
        server = Xvfb(width, height)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _client(make_app, display: str, timeout_seconds: float = 5.0, **host):
    """``display`` and its timeout are the Linux display driver's settings; ``host`` the plugin's."""
    app = make_app(plugins={"host": host, "linux": {"display": {"display": display, "timeout_seconds": timeout_seconds}}})
    client = app.test_client()
    return client, bearer(admin_token(client))


def _png(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image.convert("RGB")


def _screenshot(client, headers, index) -> Image.Image:
    response = client.get(f"/platform/api/host/screenshot/{index}", headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"data", "mediaType"} and body["mediaType"] == "image/png"
    return _png(base64.b64decode(body["data"], validate=True))


def _assert_host_422(response):
    assert response.status_code == 422
    body = response.get_json()
    assert set(body) == {"errors"} and set(body["errors"]) == {"Host"} and body["errors"]["Host"]


def test_one_monitor_x_server_counts_one_display(make_app, xvfb):
    client, headers = _client(make_app, xvfb().display)
    response = client.get("/platform/api/host/display/count", headers=headers)
    assert response.status_code == 200
    assert response.get_json() == 1
    assert response.data.strip() == b"1"


def test_screenshot_is_a_png_of_what_the_display_shows(make_app, xvfb):
    server = xvfb(320, 200)
    server.paint("red")
    client, headers = _client(make_app, server.display)
    image = _screenshot(client, headers, 0)
    assert image.size == (320, 200)
    assert image.getpixel((0, 0)) == RED and image.getpixel((319, 199)) == RED
    server.paint("blue")
    assert _screenshot(client, headers, 0).getpixel((160, 100)) == BLUE


def test_screenshot_file_is_the_png_itself(make_app, xvfb):
    server = xvfb(200, 100)
    server.paint("red")
    client, headers = _client(make_app, server.display)
    response = client.get("/platform/api/host/screenshot/0/file", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert "screenshot-0.png" in response.headers["Content-Disposition"]
    image = _png(response.data)
    assert image.size == (200, 100) and image.getpixel((100, 50)) == RED


def test_two_monitors_count_two_and_each_index_captures_its_own(make_app, xvfb, tmp_path):
    server = xvfb(640, 200)
    server.split_in_two(tmp_path, "red", "blue")
    client, headers = _client(make_app, server.display)
    assert client.get("/platform/api/host/display/count", headers=headers).get_json() == 2
    first, second = _screenshot(client, headers, 0), _screenshot(client, headers, 1)
    assert first.size == second.size == (320, 200)
    assert first.getpixel((0, 0)) == RED and first.getpixel((319, 199)) == RED
    assert second.getpixel((0, 0)) == BLUE and second.getpixel((319, 199)) == BLUE
    file = client.get("/platform/api/host/screenshot/1/file", headers=headers)
    assert _png(file.data).getpixel((10, 10)) == BLUE
    _assert_host_422(client.get("/platform/api/host/screenshot/2", headers=headers))


def test_profile_reports_the_display_count(make_app, xvfb, tmp_path):
    server = xvfb(640, 200)
    server.split_in_two(tmp_path, "red", "blue")
    client, headers = _client(make_app, server.display)
    profile = client.get("/edgehub/api/profile", headers=headers).get_json()
    assert profile["host:display:count"] == 2 and profile["host:info"] == 1


def test_display_count_follows_monitors_added_while_running(make_app, xvfb, tmp_path):
    server = xvfb(640, 200)
    client, headers = _client(make_app, server.display, display_interval_seconds=0.05)
    assert client.get("/platform/api/host/display/count", headers=headers).get_json() == 1
    server.split_in_two(tmp_path, "red", "blue")
    deadline = time.monotonic() + 5
    count = 1
    while count != 2 and time.monotonic() < deadline:
        gevent.sleep(0.05)
        count = client.get("/platform/api/host/display/count", headers=headers).get_json()
    assert count == 2


@pytest.mark.parametrize("index", ["1", "7", "999999999"])
def test_screenshot_of_a_missing_display_is_422_host(make_app, xvfb, index):
    client, headers = _client(make_app, xvfb().display)
    _assert_host_422(client.get(f"/platform/api/host/screenshot/{index}", headers=headers))
    _assert_host_422(client.get(f"/platform/api/host/screenshot/{index}/file", headers=headers))


@pytest.mark.parametrize("index", ["-1", "x", "1.5", "0x1", "%20", "+0", "1e3", "٣", "9" * 40])
def test_screenshot_index_that_is_not_a_number_from_0_is_422_host(make_app, xvfb, index):
    client, headers = _client(make_app, xvfb().display)
    _assert_host_422(client.get(f"/platform/api/host/screenshot/{index}", headers=headers))
    _assert_host_422(client.get(f"/platform/api/host/screenshot/{index}/file", headers=headers))


def test_no_display_configured_counts_zero_and_screenshot_is_422(make_app):
    client, headers = _client(make_app, "")
    assert client.get("/platform/api/host/display/count", headers=headers).get_json() == 0
    assert client.get("/edgehub/api/profile", headers=headers).get_json()["host:display:count"] == 0
    _assert_host_422(client.get("/platform/api/host/screenshot/0", headers=headers))


def test_x_server_gone_counts_zero_and_screenshot_is_422(make_app, xvfb):
    server = xvfb()
    server.stop()
    client, headers = _client(make_app, server.display)
    assert client.get("/platform/api/host/display/count", headers=headers).get_json() == 0
    _assert_host_422(client.get("/platform/api/host/screenshot/0", headers=headers))
    _assert_host_422(client.get("/platform/api/host/screenshot/0/file", headers=headers))


def test_wedged_x_server_answers_422_after_the_timeout_not_a_hang(make_app, xvfb):
    server = xvfb()
    client, headers = _client(make_app, server.display, timeout_seconds=0.5)
    # A stopped server still accepts connections (the kernel queues them) but never answers, as a
    # wedged X server does.
    server.proc.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        _assert_host_422(client.get("/platform/api/host/screenshot/0", headers=headers))
        assert client.get("/platform/api/host/display/count", headers=headers).get_json() == 0
        assert time.monotonic() - started < 5
    finally:
        server.proc.send_signal(signal.SIGCONT)


def test_display_routes_need_a_token(make_app, xvfb):
    client, _ = _client(make_app, xvfb().display)
    for path in ("display/count", "screenshot/0", "screenshot/0/file"):
        response = client.get(f"/platform/api/host/{path}")
        assert response.status_code == 401 and response.get_json()["Code"] == 401, path


def test_display_routes_are_read_only(make_app, xvfb):
    client, headers = _client(make_app, xvfb().display)
    for path in ("display/count", "screenshot/0", "screenshot/0/file"):
        assert client.post(f"/platform/api/host/{path}", json={}, headers=headers).status_code == 405, path


def test_real_daemon_captures_screenshots_from_its_threadpool(xvfb, tmp_path, monkeypatch):
    """Through ``portald run`` itself (gevent-patched, X calls in the threadpool): libxcb is looked
    up lazily with ctypes.util.find_library from a pool thread, which once failed there with a 500."""
    from test_server import ADMIN_NEW, Daemon

    server = xvfb()
    server.paint("red")
    monkeypatch.setenv("DISPLAY", server.display)
    daemon = Daemon(tmp_path, http=True)
    try:
        token = daemon.post("/auth/login?m=2", json={"username": "admin", "password": "p@ssw0rd"}).json()["token"]
        daemon.put("/auth/user/admin/password", json={"old": "p@ssw0rd", "new": ADMIN_NEW},
                   headers={"Authorization": f"Bearer {token}"})
        token = daemon.post("/auth/login?m=2", json={"username": "admin", "password": ADMIN_NEW}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        count = daemon.get("/platform/api/host/display/count", headers=headers)
        assert count.status_code == 200 and count.json() == 1
        shot = daemon.get("/platform/api/host/screenshot/0/file", headers=headers)
        assert shot.status_code == 200 and shot.headers["Content-Type"] == "image/png"
        assert _png(shot.content).getpixel((10, 10))[:3] == (255, 0, 0)
    finally:
        daemon.stop()
