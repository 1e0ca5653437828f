"""``/platform/api/processes``: the list (JSON, SSE, ``processes`` event) with real child processes, real
psutil and real CPU use; ``DELETE /platform/api/processes/:pid`` killing real children, with SIGKILL
escalation, the spec's 400/422 bodies, and ownership checked against a real OS account."""
from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time

import gevent
import psutil
import pytest

from conftest import admin_token, bearer, login

LIST = "/platform/api/processes"
SSE = {"Accept": "text/event-stream"}
REQUIRED = {"pid", "name", "numThreads", "memUsage", "cpuPercent", "username", "elapsedTime"}
OPTIONAL = {"ppid", "path", "cmdline"}
IGNORES_SIGTERM = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                   "print('ready', flush=True); time.sleep(60)")


def _killed(child: subprocess.Popen, sig: int) -> None:
    """``child`` ended within 5 s (a ``sleep 60`` does not on its own), by ``sig`` when its status is known.
    Once anything in this process has used gevent.subprocess (the core's command runner does), gevent's
    SIGCHLD handler reaps every child, and Popen.wait() can only report 0."""
    assert child.wait(timeout=5) in (-sig, 0)


def _logged_in(make_app, **plugin_config):
    app = make_app(plugins={"processes": plugin_config}) if plugin_config else make_app()
    client = app.test_client()
    return app, client, bearer(admin_token(client))


def _rows(client, headers) -> dict[int, dict]:
    response = client.get(LIST, headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/json"
    return {row["pid"]: row for row in response.get_json()}


def _sampler(app):
    return app.extensions["portald"].host.memos["processes"]["sampler"]


def _driver(app):
    return app.extensions["portald"].host.choices["processes"].driver.wrapped


def _wait_for_samples(app, count: int) -> None:
    sampler = _sampler(app)
    target = sampler.collections + count
    with gevent.Timeout(10):
        while sampler.collections < target:
            gevent.sleep(0.02)


def _first_frame(response, timeout: float = 5.0) -> tuple[str, str]:
    buffer, chunks = b"", iter(response.response)
    with gevent.Timeout(timeout):
        while True:
            buffer += next(chunks)
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                lines = dict(line.split(b": ", 1) for line in block.split(b"\n") if not line.startswith(b":"))
                if lines:
                    return lines[b"event"].decode(), lines[b"data"].decode()


# --- the list --------------------------------------------------------------------------------------

def test_list_describes_a_real_child_with_the_spec_fields_and_units(client, admin_headers, children):
    child = children(["sleep", "60"])
    started = time.monotonic()
    rows = _rows(client, admin_headers)
    elapsed_ms = (time.monotonic() - started) * 1000
    row = rows[child.pid]
    assert row["ppid"] == os.getpid()
    assert row["name"] == "sleep" and row["numThreads"] == 1
    assert row["username"] == pwd.getpwuid(os.getuid()).pw_name
    assert row["path"] == os.path.realpath(shutil.which("sleep"))
    assert row["cmdline"] == "sleep 60"
    assert abs(row["memUsage"] - psutil.Process(child.pid).memory_info().rss) < 1 << 20
    assert row["cpuPercent"] == 0.0
    # psutil derives start times from the boot time, which the kernel gives to the second
    assert 0 <= row["elapsedTime"] <= elapsed_ms + 1500


def test_every_row_has_the_spec_keys_and_leaves_out_empty_ones(client, admin_headers):
    rows = _rows(client, admin_headers)
    assert len(rows) > 3
    for row in rows.values():
        assert REQUIRED <= set(row) <= REQUIRED | OPTIONAL, row
        assert row.get("ppid", 1) > 0 and row.get("path", "x") and row.get("cmdline", "x"), row
        assert all(type(row[k]) is int for k in ("pid", "numThreads", "memUsage", "elapsedTime")), row
        assert isinstance(row["cpuPercent"], float), row
    if 2 in rows and rows[2]["name"] == "kthreadd":
        assert "path" not in rows[2] and "cmdline" not in rows[2] and "ppid" not in rows[2]


BUSY_THEN_IDLE = ("import time\nstart = time.monotonic()\nwhile time.monotonic() - start < 1: pass\n"
                  "print('idle', flush=True)\ntime.sleep(60)")


def test_cpu_percent_is_measured_between_samples(make_app, children):
    """A process that was busy and now sleeps says 0 (its average since start would not)."""
    app, client, headers = _logged_in(make_app, interval_seconds=0.2)
    busy = children([sys.executable, "-c", "while True: pass"])
    was_busy = children([sys.executable, "-c", BUSY_THEN_IDLE], stdout=subprocess.PIPE, text=True)
    _rows(client, headers)
    assert was_busy.stdout.readline().strip() == "idle"
    _wait_for_samples(app, 2)
    rows = _rows(client, headers)
    assert rows[busy.pid]["cpuPercent"] > 5  # up to a core's worth, less when the machine is busy
    assert rows[was_busy.pid]["cpuPercent"] == 0.0
    assert psutil.Process(was_busy.pid).cpu_times().user > 0.05


def test_a_process_seen_first_reports_its_average_since_start_not_zero(client, admin_headers, children):
    busy = children([sys.executable, "-c", "while True: pass"])
    time.sleep(0.5)
    reported = _rows(client, admin_headers)[busy.pid]["cpuPercent"]
    proc = psutil.Process(busy.pid)
    times = proc.cpu_times()
    average = 100 * (times.user + times.system) / (time.time() - proc.create_time())
    assert reported > 0 and abs(reported - average) <= max(5.0, average / 3)


def test_requests_serve_the_sampler_snapshot_without_walking_proc(client, admin_headers, app):
    for _ in range(20):
        _rows(client, admin_headers)
    sampler = _sampler(app)
    assert sampler.running and sampler.collections <= 2
    # the walk of /proc blocks: the driver says so and the core runs it in its threadpool
    assert _driver(app).blocking is True


def test_dead_processes_leave_the_list_and_the_table(make_app, children):
    app, client, headers = _logged_in(make_app, interval_seconds=0.3)
    child = children(["sleep", "60"])
    assert child.pid in _rows(client, headers)
    child.kill()
    child.wait()
    _wait_for_samples(app, 1)
    assert _driver(app).tracked == len(_sampler(app).latest().rows)
    assert child.pid not in _rows(client, headers)


def test_list_streams_as_message_events_with_accept_event_stream(client, admin_headers, children):
    child = children(["sleep", "60"])
    response = client.get(LIST, headers={**admin_headers, **SSE}, buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    name, data = _first_frame(response)
    response.close()
    assert name == "message"
    rows = {row["pid"]: row for row in json.loads(data)}
    assert rows[child.pid]["cmdline"] == "sleep 60"


def test_processes_event_on_the_events_stream(client, admin_headers, children):
    child = children(["sleep", "60"])
    response = client.get("/platform/api/events?events=processes", headers={**admin_headers, **SSE},
                          buffered=False)
    name, data = _first_frame(response)
    response.close()
    assert name == "processes"
    assert child.pid in {row["pid"] for row in json.loads(data)}


def test_profile_counts_the_processes(client, admin_headers):
    before = len(psutil.pids())
    count = client.get("/edgehub/api/profile", headers=admin_headers).get_json()["processes"]
    after = len(psutil.pids())
    # other processes on this machine may come and go meanwhile
    assert min(before, after) - 10 <= count <= max(before, after) + 10 and count > 0


def test_list_needs_token(client):
    for headers in ({}, SSE):
        response = client.get(LIST, headers=headers)
        assert response.status_code == 401 and response.get_json()["Code"] == 401


# --- DELETE ----------------------------------------------------------------------------------------

def test_delete_ends_a_process_with_sigterm(client, admin_headers, children):
    child = children(["sleep", "60"])
    response = client.delete(f"{LIST}/{child.pid}", headers=admin_headers)
    assert response.status_code == 200
    assert response.get_json() == {"pid": child.pid, "signal": "SIGTERM"}
    _killed(child, signal.SIGTERM)


def test_delete_escalates_to_sigkill_after_the_grace_period(make_app, children):
    _, client, headers = _logged_in(make_app, kill_grace_seconds=0.3)
    child = children([sys.executable, "-c", IGNORES_SIGTERM], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    started = time.monotonic()
    response = client.delete(f"{LIST}/{child.pid}", headers=headers)
    assert response.status_code == 200 and response.get_json()["signal"] == "SIGKILL"
    assert time.monotonic() - started >= 0.3
    _killed(child, signal.SIGKILL)


def test_waiting_out_the_grace_period_does_not_block_other_requests(make_app, children):
    app, client, headers = _logged_in(make_app, kill_grace_seconds=1.0)
    child = children([sys.executable, "-c", IGNORES_SIGTERM], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    killing = gevent.spawn(client.delete, f"{LIST}/{child.pid}", headers=headers)
    gevent.sleep(0.2)
    started = time.monotonic()
    other = app.test_client().get("/platform/api/ping")
    assert other.status_code == 200 and time.monotonic() - started < 0.5
    assert not killing.ready()
    assert killing.get(timeout=5).get_json()["signal"] == "SIGKILL"


@pytest.mark.parametrize("pid", ["abc", "0", "000", "-5", "1.5", "+7", "%207", "0x10", "1e3", "%D9%A5", "7a",
                                 str(10 ** 30)])
def test_delete_rejects_a_pid_that_is_not_a_positive_integer_with_400(client, admin_headers, pid):
    response = client.delete(f"{LIST}/{pid}", headers=admin_headers)
    assert response.status_code == 400
    assert response.get_json() == {"errors": {"Processes": "Invalid PID"}}


def _pid_max() -> int:
    with open("/proc/sys/kernel/pid_max") as f:
        return int(f.read())


@pytest.mark.parametrize("pid, why", [
    (lambda: 1, "init"),
    (os.getpid, "portald"),
    (lambda: _pid_max() + 1, "no process"),
    (lambda: 10 ** 19, "no process"),
])
def test_delete_refuses_init_itself_and_missing_processes_with_422(client, admin_headers, pid, why):
    response = client.delete(f"{LIST}/{pid()}", headers=admin_headers)
    assert response.status_code == 422
    assert why in response.get_json()["errors"]["Processes"]


def test_delete_refuses_a_kernel_thread_with_422(client, admin_headers):
    kthread = next((p for p in psutil.process_iter(["ppid"]) if p.info["ppid"] == 2), None)
    if kthread is None:
        pytest.skip("no kernel threads visible (a PID namespace without kthreadd)")
    response = client.delete(f"{LIST}/{kthread.pid}", headers=admin_headers)
    assert response.status_code == 422 and "kernel thread" in response.get_json()["errors"]["Processes"]
    assert kthread.is_running()


# a parent that never reaps: our own children may be reaped by gevent's SIGCHLD handler (see _killed)
ZOMBIE_PARENT = "import os, time\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nprint(pid, flush=True)\ntime.sleep(60)"


def test_delete_refuses_a_zombie_with_422(client, admin_headers, children):
    parent = children([sys.executable, "-c", ZOMBIE_PARENT], stdout=subprocess.PIPE, text=True)
    zombie = psutil.Process(int(parent.stdout.readline()))
    with gevent.Timeout(5):
        while zombie.status() != psutil.STATUS_ZOMBIE:
            gevent.sleep(0.01)
    response = client.delete(f"{LIST}/{zombie.pid}", headers=admin_headers)
    assert response.status_code == 422 and "already exited" in response.get_json()["errors"]["Processes"]
    assert parent.poll() is None


def test_delete_needs_token(client, children):
    child = children(["sleep", "60"])
    response = client.delete(f"{LIST}/{child.pid}")
    assert response.status_code == 401 and response.get_json()["Code"] == 401
    assert child.poll() is None


def test_bad_grace_config_fails_the_plugin_with_the_reason_and_kills_nothing(make_app, children):
    app, client, headers = _logged_in(make_app, kill_grace_seconds="soon")
    record = next(p for p in app.extensions["portald"].host.status()["plugins"] if p["name"] == "processes")
    assert record["state"] == "failed" and "kill_grace_seconds" in record["reason"]
    child = children(["sleep", "60"])
    assert client.delete(f"{LIST}/{child.pid}", headers=headers).status_code == 404
    time.sleep(0.1)
    assert child.poll() is None


# --- ownership -------------------------------------------------------------------------------------

def _user_token(client, user) -> dict:
    response = login(client, user.name, user.password, m=0)
    assert response.status_code == 200, response.get_json()
    return bearer(response.get_json()["token"])


def _run_as(children, name: str) -> subprocess.Popen:
    account = pwd.getpwnam(name)
    child = children(["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups",
                      "sleep", "60"])
    with gevent.Timeout(5):  # until setpriv has switched uid and exec'd sleep
        while psutil.Process(child.pid).uids().real != account.pw_uid or psutil.Process(child.pid).name() != "sleep":
            gevent.sleep(0.01)
    return child


def test_os_user_may_not_kill_a_root_process(client, children, os_user_factory):
    user = os_user_factory()
    child = children(["sleep", "60"])
    response = client.delete(f"{LIST}/{child.pid}", headers=_user_token(client, user))
    assert response.status_code == 403 and response.get_json()["Code"] == 403
    time.sleep(0.1)
    assert child.poll() is None


def test_os_user_kills_their_own_process(client, children, os_user_factory):
    user = os_user_factory()
    child = _run_as(children, user.name)
    response = client.delete(f"{LIST}/{child.pid}", headers=_user_token(client, user))
    assert response.status_code == 200 and response.get_json()["signal"] == "SIGTERM"
    _killed(child, signal.SIGTERM)


def test_os_user_sees_every_process_in_the_list(client, children, os_user_factory):
    user = os_user_factory()
    child = children(["sleep", "60"])
    rows = _rows(client, _user_token(client, user))
    assert rows[child.pid]["username"] == "root"


def test_delete_refuses_a_thread_id_which_would_signal_its_whole_process(client, admin_headers, children):
    """/proc/<tid> answers for threads too; killing by a thread id of PID 1 or of portald would have
    got round the checks above."""
    child = children([sys.executable, "-c", "import threading, time\n"
                      "threading.Thread(target=time.sleep, args=(60,)).start()\ntime.sleep(60)"])
    deadline = time.monotonic() + 5
    while len(os.listdir(f"/proc/{child.pid}/task")) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    tid = max(int(t) for t in os.listdir(f"/proc/{child.pid}/task") if int(t) != child.pid)
    response = client.delete(f"{LIST}/{tid}", headers=admin_headers)
    assert response.status_code == 422 and "no process" in response.get_json()["errors"]["Processes"]
    time.sleep(0.2)
    assert child.poll() is None
