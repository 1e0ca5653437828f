"""Shared test fixtures: a fresh app per test on a temporary state dir, logins, real OS accounts."""
from __future__ import annotations

import base64
import os
import pwd
import secrets
import subprocess
from pathlib import Path

import pytest

from portald.app import create_app
from portald.config import Config

FIXTURES = Path(__file__).parent / "fixtures"
ADMIN_PASSWORD = "Fact0ry-Floor!"


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.fixture
def make_config(tmp_path):
    def build(**overrides) -> Config:
        base = {
            "board": "sim",
            "state_dir": str(tmp_path / "state"),
            "plugins_dir": str(tmp_path / "plugins.d"),
            # no test touches the machine's real devices unless it asks for them
            "dev_root": str(tmp_path / "dev"),
            "sysfs_root": str(FIXTURES / "cases" / "empty" / "sys"),
            "auth": {"failure_delay_seconds": 0},
        }
        return Config.model_validate(_merge(base, overrides))
    return build


@pytest.fixture
def make_app(make_config):
    apps = []

    def build(**overrides):
        app = create_app(make_config(**overrides))
        app.testing = True
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["portald"].shutdown()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def login(client, username: str, password: str, m: int = 2):
    return client.post(f"/auth/login?m={m}", json={"username": username, "password": password})


def write_dropin(tmp_path: Path, name: str, source: str) -> None:
    """A single-file plugin ``name`` in the plugins_dir the test apps load (``make_config``'s)."""
    folder = tmp_path / "plugins.d"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(source)


def sse_frames(response, count: int, timeout: float = 5.0) -> list[tuple[str, str]]:
    """Read ``count`` events (name, data) from a streamed test response; comments are skipped."""
    import gevent

    found, buffer, chunks = [], b"", iter(response.response)
    with gevent.Timeout(timeout):
        while len(found) < count:
            buffer += next(chunks)
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                lines = dict(line.split(b": ", 1) for line in block.split(b"\n") if not line.startswith(b":"))
                if lines:
                    found.append((lines[b"event"].decode(), lines[b"data"].decode()))
    return found


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def basic(username: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def assert_each_answers(client, calls, status: int, headers: dict | None = None) -> None:
    """Each ``(method, url, body)`` answers ``status`` with the spec's ``{"Code": status, ...}`` auth
    body: a route list's 401 (no token) or 403 (not an administrator) in one line."""
    for method, url, body in calls:
        response = getattr(client, method)(url, json=body, headers=headers or {})
        assert response.status_code == status, (method, url, response.get_json())
        assert response.get_json()["Code"] == status, (method, url)


def os_user_headers(client, user) -> dict:
    """Log ``user`` (an ``os_user_factory`` account) in through PAM (m=0): its bearer headers (the
    cookie the login set is dropped, so the headers alone speak for the user)."""
    logged_in = login(client, user.name, user.password, m=0)
    assert logged_in.status_code == 200, logged_in.get_json()
    client.delete_cookie("jwt")
    return bearer(logged_in.get_json()["token"])


def admin_token(client) -> str:
    """Log in as admin, change the default password, log in again: a token good for everything."""
    first = login(client, "admin", "p@ssw0rd")
    assert first.status_code == 200, first.get_json()
    changed = client.put("/auth/user/admin/password", json={"old": "p@ssw0rd", "new": ADMIN_PASSWORD},
                         headers=bearer(first.get_json()["token"]))
    assert changed.status_code == 200, changed.get_json()
    second = login(client, "admin", ADMIN_PASSWORD)
    assert second.status_code == 200
    client.delete_cookie("jwt")
    return second.get_json()["token"]


@pytest.fixture
def admin_headers(client):
    return bearer(admin_token(client))


@pytest.fixture
def children():
    """Start child processes; whatever is still running at the end is killed (only these, by pid)."""
    started: list[subprocess.Popen] = []

    def start(argv: list[str], **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(argv, **kwargs)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


class OsUser:
    def __init__(self, name: str, password: str):
        self.name, self.password = name, password


@pytest.fixture
def os_user_factory():
    """Real OS accounts (useradd + chpasswd), removed afterwards. Needs root, as CI has."""
    if os.geteuid() != 0:
        pytest.fail("OS-account tests need root (useradd/chpasswd); run them as root, as CI does")
    if not Path("/etc/pam.d/portald").exists():
        pytest.fail("/etc/pam.d/portald is missing: run `make pam` (make test does it)")
    created = []

    def create(groups: list[str] | None = None) -> OsUser:
        name = "pdt" + secrets.token_hex(4)
        password = "pw-" + secrets.token_hex(8)
        command = ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        if groups:
            command += ["--groups", ",".join(groups)]
        subprocess.run(command + [name], check=True)
        created.append(name)
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
        pwd.getpwnam(name)
        return OsUser(name, password)

    yield create
    for name in created:
        subprocess.run(["userdel", name], check=False, stderr=subprocess.DEVNULL)
