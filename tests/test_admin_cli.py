"""``portald --version``, ``portald admin reset-password`` (also against a running daemon's state),
the journald-friendly log format, and ``GET /``."""
from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time

import pytest

from portald import __version__, cli, log_format

from conftest import admin_token, bearer, login

NEW = "Lost-and-f0und!"


def _reset(monkeypatch, state_dir, *flags, stdin: str = ""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return cli.main(["admin", "reset-password", "--state-dir", str(state_dir), *flags])


def _within(seconds: float, condition) -> bool:
    """True once ``condition()`` is: a running daemon looks at the account's file once a second."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_version_flag_prints_the_package_version():
    result = subprocess.run([sys.executable, "-m", "portald", "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stdout.strip() == f"portald {__version__}"


def test_reset_password_takes_effect_in_a_running_daemon_and_revokes_admin_tokens(app, client, monkeypatch):
    old = bearer(admin_token(client))
    assert client.get("/edgehub/api/profile", headers=old).status_code == 200
    state_dir = app.extensions["portald"].config.state_dir
    assert _reset(monkeypatch, state_dir, "--password-stdin", stdin=NEW + "\n") == 0
    # no restart: the running app reads the changed file within a second
    assert _within(3, lambda: client.get("/edgehub/api/profile", headers=old).status_code == 401)
    fresh = login(client, "admin", NEW)
    assert fresh.status_code == 200
    assert client.get("/edgehub/api/profile", headers=bearer(fresh.get_json()["token"])).status_code == 200
    assert login(client, "admin", "p@ssw0rd").status_code != 200


def test_reset_password_factory_default_must_then_be_changed(app, client, monkeypatch):
    admin_token(client)
    state_dir = app.extensions["portald"].config.state_dir
    assert _reset(monkeypatch, state_dir, "--factory-default") == 0
    admin = app.extensions["portald"].auth.admin
    assert _within(3, lambda: admin.is_default)  # polled without logins: failures would lock it
    token = bearer(login(client, "admin", "p@ssw0rd").get_json()["token"])
    assert client.get("/edgehub/api/profile", headers=token).status_code == 403


def test_reset_password_repairs_a_damaged_account_file(app, client, monkeypatch):
    state_dir = app.extensions["portald"].config.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "admin-password.json").write_text("{not json")
    admin = app.extensions["portald"].auth.admin
    assert _within(3, lambda: admin.generation == 0 and admin.damaged)  # seen by the running app
    assert login(client, "admin", "p@ssw0rd").status_code != 200
    assert _reset(monkeypatch, state_dir, "--password-stdin", stdin=NEW + "\n") == 0
    assert _within(3, lambda: not admin.is_default and not admin.damaged)
    assert login(client, "admin", NEW).status_code == 200


@pytest.mark.parametrize("password, reason", [("", "8 to 128"), ("short", "8 to 128"), ("p@ssw0rd", "factory default"),
                                              ("x" * 129, "8 to 128")])
def test_reset_password_refuses_bad_passwords_and_changes_nothing(tmp_path, monkeypatch, capsys, password, reason):
    assert _reset(monkeypatch, tmp_path, "--password-stdin", stdin=password + "\n") == 1
    assert reason in capsys.readouterr().err
    assert not (tmp_path / "admin-password.json").exists()


def test_reset_password_is_root_only(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert _reset(monkeypatch, tmp_path, "--password-stdin", stdin=NEW + "\n") == 1
    assert "root" in capsys.readouterr().err and not (tmp_path / "admin-password.json").exists()


def test_reset_password_never_prints_the_password(tmp_path, monkeypatch, capsys):
    assert _reset(monkeypatch, tmp_path, "--password-stdin", stdin=NEW + "\n") == 0
    out = capsys.readouterr()
    assert NEW not in out.out + out.err and NEW not in (tmp_path / "admin-password.json").read_text()


def _record(level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord("portald.test", level, __file__, 1, message, None, None)


def test_journal_format_has_syslog_priorities_and_no_timestamp():
    formatter = log_format.JournalFormatter()
    assert formatter.format(_record(logging.WARNING, "disk gone")) == "<4>portald.test: disk gone"
    assert formatter.format(_record(logging.ERROR, "a\nb")) == "<3>portald.test: a\n<3>b"
    assert formatter.format(_record(logging.DEBUG, "x")).startswith("<7>")
    assert log_format.TerminalFormatter().format(_record(logging.INFO, "up"))[:4].isdigit()


def test_journal_is_detected_only_when_stderr_is_the_named_stream(tmp_path):
    with open(tmp_path / "log", "w") as stream:
        st = os.fstat(stream.fileno())
        assert log_format.to_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, stream)
        assert not log_format.to_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"}, stream)
        assert not log_format.to_journal({"JOURNAL_STREAM": "garbage"}, stream)
        assert not log_format.to_journal({}, stream)


def test_front_page_answers_html_for_browsers_and_json_when_asked(client):
    page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b"/auth/login" in page.data and b"/edgehub/api/profile" in page.data
    assert client.get("/").mimetype == "text/html"  # curl's */*
    as_json = client.get("/", headers={"Accept": "application/json"})
    assert as_json.status_code == 200 and as_json.get_json()["login"] == "/auth/login?m=2"
    assert client.post("/").status_code == 405


def test_reachable_urls_name_real_addresses_never_a_wildcard():
    from portald.server import reachable_urls

    assert reachable_urls("https", "127.0.0.1", 8443) == ["https://127.0.0.1:8443/"]
    assert reachable_urls("http", "::1", 80) == ["http://[::1]:80/"]
    urls = reachable_urls("https", "0.0.0.0", 8443)
    assert urls[0] == "https://127.0.0.1:8443/" and not any("0.0.0.0" in url for url in urls)
    assert all(url.endswith(":8443/") for url in urls) and len(set(urls)) == len(urls)
