"""The Linux ``processes`` driver: the table read from a process tree under ``procfs_root`` (psutil's
``PROCFS_PATH``, set by the core), signals sent only through the live procfs and only to the very
process ``target()`` found. Every process signalled here is a child this test started."""
from __future__ import annotations

import os
import pwd
import signal
import time

import psutil
import pytest

from portald.drivers import DriverError, NotFound
from portald_plugins.boards.linux.processes import LinuxProcessesDriver

from conftest import admin_token, bearer

BTIME = 1764100000
TICKS = os.sysconf("SC_CLK_TCK")
NO_ACCOUNT_UID = 59999


def _stat_line(pid: int, name: str, ppid: int, utime: int, stime: int, threads: int, start_ticks: int) -> str:
    # /proc/<pid>/stat: pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
    # cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss ...
    fields = ["S", ppid, pid, pid, 0, -1, 4194304, 100, 0, 0, 0, utime, stime, 0, 0, 20, 0, threads, 0,
              start_ticks, 8192000, 200] + [0] * 30
    return f"{pid} ({name}) " + " ".join(map(str, fields)) + "\n"


def _process(proc, pid, name, *, ppid, uid=0, cmdline=(), exe=None, threads=1, utime=0, stime=0,
             start_ticks=100, rss_pages=200):
    folder = proc / str(pid)
    folder.mkdir()
    (folder / "stat").write_text(_stat_line(pid, name, ppid, utime, stime, threads, start_ticks))
    (folder / "status").write_text(f"Name:\t{name}\nState:\tS (sleeping)\nTgid:\t{pid}\nPid:\t{pid}\n"
                                   f"PPid:\t{ppid}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
                                   f"Gid:\t0\t0\t0\t0\nThreads:\t{threads}\n")
    (folder / "statm").write_text(f"2000 {rss_pages} 150 10 0 100 0\n")
    (folder / "cmdline").write_bytes(b"".join(arg.encode() + b"\0" for arg in cmdline))
    if exe:
        (folder / "exe").symlink_to(exe)


@pytest.fixture
def process_tree(tmp_path):
    """A process table as the kernel lays it out: kthreadd, a `sleep 60` of root's started 123.45 s after
    boot that used 8 ticks of CPU, and a process of a uid without an account."""
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "stat").write_text(f"cpu  0 0 0 0 0 0 0 0 0 0\nbtime {BTIME}\n")
    (proc / "self").symlink_to("4242")  # as a copied tree keeps it
    _process(proc, 2, "kthreadd", ppid=0)
    _process(proc, 4242, "sleep", ppid=1, cmdline=("sleep", "60"), exe="/usr/bin/sleep", utime=5, stime=3,
             start_ticks=123 * TICKS + TICKS * 45 // 100)
    _process(proc, 4243, "worker", ppid=4242, uid=NO_ACCOUNT_UID, cmdline=("worker",), threads=3)
    return proc


def test_table_is_read_from_the_process_tree_under_procfs_root(process_tree, monkeypatch):
    monkeypatch.setattr(psutil, "PROCFS_PATH", str(process_tree))  # what the core does at start-up
    driver = LinuxProcessesDriver(process_tree)
    assert driver.probe() and driver.count() == 3
    now = time.time()
    rows = {row["pid"]: row for row in driver.read()}
    assert sorted(rows) == [2, 4242, 4243]
    assert rows[2] == {"pid": 2, "name": "kthreadd", "numThreads": 1, "memUsage": 200 * os.sysconf("SC_PAGE_SIZE"),
                       "cpuPercent": 0.0, "username": "root", "elapsedTime": rows[2]["elapsedTime"]}
    sleep = rows[4242]
    started = BTIME + 123.45
    assert sleep["ppid"] == 1 and sleep["name"] == "sleep" and sleep["username"] == pwd.getpwuid(0).pw_name
    assert sleep["path"] == "/usr/bin/sleep" and sleep["cmdline"] == "sleep 60"
    assert abs(sleep["elapsedTime"] - (now - started) * 1000) < 2000
    # seen for the first time: its average since it started, 8 ticks over its whole life
    assert sleep["cpuPercent"] == round(100 * (8 / TICKS) / (now - started), 1)
    worker = rows[4243]
    assert worker["username"] == str(NO_ACCOUNT_UID) and worker["numThreads"] == 3 and "path" not in worker
    assert driver.tracked == 3


def test_nothing_is_signalled_through_a_procfs_that_is_not_the_live_one(process_tree, monkeypatch, tmp_path):
    monkeypatch.setattr(psutil, "PROCFS_PATH", str(process_tree))
    driver = LinuxProcessesDriver(process_tree)
    with pytest.raises(DriverError, match="live /proc"):
        driver.target(4242)
    with pytest.raises(DriverError, match="live /proc"):
        driver.signal(4242, BTIME + 123.45, "SIGTERM")
    # a copied tree whose self link happens to name this process is still not the live procfs
    (process_tree / "self").unlink()
    (process_tree / "self").symlink_to(str(os.getpid()))
    _process(process_tree, os.getpid(), "python", ppid=1)
    with pytest.raises(DriverError, match="live /proc"):
        driver.target(4242)


def test_delete_through_a_fixture_procfs_is_refused_and_signals_nothing(make_app, process_tree, children):
    """The tree lists a pid that is this machine's real child: still nothing is signalled."""
    child = children(["sleep", "60"])
    _process(process_tree, child.pid, "sleep", ppid=os.getpid(), cmdline=("sleep", "60"))
    app = make_app(procfs_root=str(process_tree))
    client = app.test_client()
    headers = bearer(admin_token(client))
    listed = {row["pid"] for row in client.get("/platform/api/processes", headers=headers).get_json()}
    assert listed == {2, 4242, 4243, child.pid}
    response = client.delete(f"/platform/api/processes/{child.pid}", headers=headers)
    assert response.status_code == 422 and "live /proc" in response.get_json()["errors"]["Processes"]
    time.sleep(0.1)
    assert child.poll() is None


def test_live_target_signal_and_running_name_one_process(children):
    child = children(["sleep", "60"])
    driver = LinuxProcessesDriver("/proc")  # this test's own machine
    target = driver.target(child.pid)
    assert target["pid"] == child.pid and target["name"] == "sleep" and target["uid"] == os.getuid()
    assert driver.running(child.pid, target["started"])
    # another start time names another process (one that got the pid after this one): never signalled
    assert driver.signal(child.pid, target["started"] + 1, "SIGTERM") is False
    assert driver.running(child.pid, target["started"] + 1) is False
    assert child.poll() is None
    assert driver.signal(child.pid, target["started"], "SIGTERM") is True
    deadline = time.monotonic() + 5
    while driver.running(child.pid, target["started"]):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert child.wait(timeout=5) in (-signal.SIGTERM, 0)
    assert driver.signal(child.pid, target["started"], "SIGKILL") is False  # gone: nothing to signal


def test_live_target_refuses_what_must_never_be_signalled(children):
    driver = LinuxProcessesDriver("/proc")
    with pytest.raises(DriverError, match="init"):
        driver.target(1)
    with pytest.raises(DriverError, match="itself"):
        driver.target(os.getpid())
    with pytest.raises(NotFound):
        driver.target(4 * 1024 * 1024 + 1)
