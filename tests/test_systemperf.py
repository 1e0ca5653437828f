"""``/platform/api/systemperf*`` and the ``systemperf`` event: the spec's shapes on this machine, CPU
descriptions parsed from real kernels' cpuinfo (x86, arm64, armv7), usage measured by the sampler,
usage and memory read from the configured ``procfs_root`` (psutil's ``PROCFS_PATH``), and the Linux
driver's ``cpu_times()`` (``/proc/stat`` in seconds, for ``node_cpu_seconds_total``)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import gevent
import psutil
import pytest

from portald_plugins.boards.linux.systemperf import LinuxSystemperfDriver, parse_cpuinfo, parse_stat

from conftest import FIXTURES, admin_token, bearer

MACHINES = FIXTURES / "machines"
INFO_TYPES = {"cpu": int, "vendorId": str, "family": str, "model": str, "stepping": int, "physicalId": str,
              "coreId": str, "cores": int, "modelName": str, "mhz": float, "cacheSize": int, "flags": list,
              "microcode": str}
MEMORY_FIELDS = {"total", "available", "used", "usedPercent", "free", "active", "inactive", "buffers", "cached",
                 "shared", "slab"}
PATHS = ("/platform/api/systemperf", "/platform/api/systemperf/cpu", "/platform/api/systemperf/memory")
SSE = {"Accept": "text/event-stream"}


def _logged_in(make_app, **overrides):
    app = make_app(**overrides)
    client = app.test_client()
    return app, client, bearer(admin_token(client))


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


def test_systemperf_has_the_spec_shape_with_this_machines_figures(client, admin_headers):
    response = client.get("/platform/api/systemperf", headers=admin_headers)
    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == {"cpu", "memory"} and set(data["cpu"]) == {"info", "usage"}
    info = data["cpu"]["info"]
    assert {key: type(value) for key, value in info.items()} == INFO_TYPES
    assert info["modelName"] and info["flags"] and info["cores"] >= 1
    usage = data["cpu"]["usage"]
    assert len(usage) == psutil.cpu_count()
    assert all(isinstance(u, (int, float)) and 0 <= u <= 100 for u in usage)
    memory = data["memory"]
    assert set(memory) == MEMORY_FIELDS
    assert memory["total"] == psutil.virtual_memory().total
    assert 0 < memory["usedPercent"] < 100
    for field in MEMORY_FIELDS - {"total", "usedPercent"}:
        assert isinstance(memory[field], int) and 0 <= memory[field] <= memory["total"], field


def test_cpu_and_memory_endpoints_are_the_parts_of_the_whole(make_app):
    _, client, headers = _logged_in(make_app, plugins={"systemperf": {"interval_seconds": 60}})
    whole = client.get("/platform/api/systemperf", headers=headers).get_json()
    assert client.get("/platform/api/systemperf/cpu", headers=headers).get_json() == whole["cpu"]
    assert client.get("/platform/api/systemperf/memory", headers=headers).get_json() == whole["memory"]


@pytest.mark.parametrize("machine", ["x86-xeon-vm", "rpi4", "rpi4-armv7"])
def test_cpu_info_from_each_kernels_cpuinfo_layout(make_app, machine):
    root = MACHINES / machine
    overrides = {"procfs_root": str(root / "proc")}
    if (root / "sys").is_dir():
        overrides["sysfs_root"] = str(root / "sys")
    _, client, headers = _logged_in(make_app, **overrides)
    expected = json.loads((root / "expected" / "systemperf.cpu.json").read_text())["info"]
    response = client.get("/platform/api/systemperf/cpu", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["info"] == expected
    # the tree has no proc/stat nor proc/meminfo: no usage, no memory figures, nothing made up
    assert response.get_json()["usage"] == []
    for path in ("/platform/api/systemperf/memory", "/platform/api/systemperf"):
        assert client.get(path, headers=headers).status_code == 404, path


def test_parser_keeps_processor_blocks_and_drops_the_arm_board_block():
    rpi = parse_cpuinfo((MACHINES / "rpi4" / "proc" / "cpuinfo").read_text())
    assert [b["processor"] for b in rpi] == ["0", "1", "2", "3"]
    assert all("Hardware" not in b and "Model" not in b for b in rpi)
    x86 = parse_cpuinfo((MACHINES / "x86-xeon-vm" / "proc" / "cpuinfo").read_text())
    assert [b["core id"] for b in x86] == ["0", "1"]


def test_linux_driver_alone_needs_a_processor_in_cpuinfo(tmp_path):
    (tmp_path / "cpuinfo").write_text("Hardware\t: BCM2835\n")
    driver = LinuxSystemperfDriver(tmp_path, tmp_path)
    with pytest.raises(OSError):
        driver.cpu_info()
    assert driver.probe() is False


# /proc/stat and /proc/meminfo as the kernel prints them, with round numbers: cpu0 was busy 20% of its
# 1000 ticks (idle and iowait are not busy), cpu1 50% (guest time is already inside user)
PROC_STAT = (
    "cpu  550 50 100 1200 100 0 0 0 40 0\n"
    "cpu0 100 0 100 700 100 0 0 0 0 0\n"
    "cpu1 450 50 0 500 0 0 0 0 40 0\n"
    "intr 0\nctxt 0\nbtime 1764100000\nprocesses 10\nprocs_running 1\nprocs_blocked 0\n")
MEMINFO = {"MemTotal": 4000000, "MemFree": 1000000, "MemAvailable": 2500000, "Buffers": 100000,
           "Cached": 1200000, "SwapCached": 0, "Active": 1500000, "Inactive": 900000, "Shmem": 50000,
           "Slab": 200000, "SReclaimable": 150000, "SUnreclaim": 50000}


def _proc_tree(tmp_path):
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "cpuinfo").write_text((MACHINES / "x86-xeon-vm" / "proc" / "cpuinfo").read_text())
    (proc / "stat").write_text(PROC_STAT)
    (proc / "meminfo").write_text("".join(f"{key}: {value:>8} kB\n" for key, value in MEMINFO.items()))
    return proc


def test_usage_and_memory_are_read_under_the_configured_procfs_root(make_app, tmp_path):
    _, client, headers = _logged_in(make_app, procfs_root=str(_proc_tree(tmp_path)))
    data = client.get("/platform/api/systemperf", headers=headers).get_json()
    assert data["cpu"]["usage"] == [20.0, 50.0]  # the first sample: the averages since boot
    memory = data["memory"]
    assert memory["total"] == MEMINFO["MemTotal"] * 1024 and memory["free"] == MEMINFO["MemFree"] * 1024
    assert memory["available"] == MEMINFO["MemAvailable"] * 1024
    assert memory["slab"] == MEMINFO["Slab"] * 1024 and memory["shared"] == MEMINFO["Shmem"] * 1024
    assert memory["usedPercent"] == 37.5  # (total - available) / total


def test_linux_driver_usage_is_measured_between_two_calls(tmp_path, monkeypatch):
    proc = _proc_tree(tmp_path)
    monkeypatch.setattr(psutil, "PROCFS_PATH", str(proc))  # what the core does at start-up
    driver = LinuxSystemperfDriver(proc, tmp_path)
    assert driver.usage() == [20.0, 50.0]
    # 100 more ticks each: cpu0 all busy, cpu1 all idle
    (proc / "stat").write_text(PROC_STAT.replace("cpu0 100 0 100 700", "cpu0 200 0 100 700")
                               .replace("cpu1 450 50 0 500", "cpu1 450 50 0 600"))
    assert driver.usage() == [100.0, 0.0]


def test_usage_rises_on_the_cpu_running_a_busy_loop(make_app):
    app, client, headers = _logged_in(make_app, plugins={"systemperf": {"interval_seconds": 0.2}})
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        client.get("/platform/api/systemperf/cpu", headers=headers)
        sampler = app.extensions["portald"].host.memos["systemperf"]["sampler"]
        start = sampler.collections
        with gevent.Timeout(5):
            while sampler.collections < start + 2:
                gevent.sleep(0.05)
        usage = client.get("/platform/api/systemperf/cpu", headers=headers).get_json()["usage"]
    finally:
        busy.kill()
        busy.wait()
    assert max(usage) > 50, usage


def test_requests_share_the_sampler_instead_of_measuring(client, admin_headers, app):
    for _ in range(20):
        assert client.get("/platform/api/systemperf", headers=admin_headers).status_code == 200
    sampler = app.extensions["portald"].host.memos["systemperf"]["sampler"]
    assert sampler.running and sampler.collections <= 2
    # the Linux driver's reads block (x86 kernels ask every CPU for its clock): the core runs them in
    # its threadpool
    assert app.extensions["portald"].host.choices["systemperf"].driver.wrapped.blocking is True


def test_profile_says_systemperf_1(client, admin_headers):
    assert client.get("/edgehub/api/profile", headers=admin_headers).get_json()["systemperf"] == 1


def test_no_cpuinfo_means_absent_profile_0_and_404(make_app, tmp_path):
    app, client, headers = _logged_in(make_app, procfs_root=str(tmp_path))
    assert client.get("/edgehub/api/profile", headers=headers).get_json()["systemperf"] == 0
    for path in PATHS:
        response = client.get(path, headers=headers)
        assert response.status_code == 404 and response.get_json()["message"], path
    record = next(p for p in app.extensions["portald"].host.status()["plugins"] if p["name"] == "systemperf")
    assert record["state"] == "absent" and "cpuinfo" in record["reason"]


def test_systemperf_event_carries_the_get_json(client, admin_headers):
    plain = client.get("/platform/api/systemperf", headers=admin_headers).get_json()
    response = client.get("/platform/api/events?events=systemperf", headers={**admin_headers, **SSE},
                          buffered=False)
    name, data = _first_frame(response)
    response.close()
    assert name == "systemperf"
    streamed = json.loads(data)
    assert set(streamed) == set(plain) and streamed["cpu"]["info"] == plain["cpu"]["info"]
    assert set(streamed["memory"]) == MEMORY_FIELDS


def test_spec_lists_no_per_resource_stream_so_event_stream_accept_gets_json(client, admin_headers):
    response = client.get("/platform/api/systemperf", headers={**admin_headers, **SSE})
    assert response.status_code == 200 and response.mimetype == "application/json"


def test_bad_interval_config_fails_the_plugin_with_the_reason_not_the_daemon(make_app):
    app, client, headers = _logged_in(make_app, plugins={"systemperf": {"interval_seconds": "fast"}})
    record = next(p for p in app.extensions["portald"].host.status()["plugins"] if p["name"] == "systemperf")
    assert record["state"] == "failed" and "interval_seconds" in record["reason"]
    assert client.get("/platform/api/systemperf", headers=headers).status_code == 404
    assert client.get("/platform/api/ping").status_code == 200


def test_systemperf_needs_token(client):
    for path in PATHS:
        response = client.get(path)
        assert response.status_code == 401 and response.get_json()["Code"] == 401, path


def test_systemperf_rejects_writes(client, admin_headers):
    for path in PATHS:
        response = client.put(path, json={}, headers=admin_headers)
        assert response.status_code == 405 and response.get_json()["message"], path


# --- cpu_times(): /proc/stat's cpuN lines in seconds (node_cpu_seconds_total) ---------------------

MODES = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]


def test_cpu_times_parse_a_real_stat_in_user_hz_with_node_exporters_modes(tmp_path):
    # imx8-gateway's stat, as an arm64 kernel printed it (fixtures/README.md); USER_HZ is 100 on every
    # Linux port, so the seconds are the ticks / 100
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "stat").write_text((MACHINES / "imx8-gateway" / "proc" / "stat").read_text())
    times = LinuxSystemperfDriver(proc, tmp_path).cpu_times()
    assert [t["cpu"] for t in times] == [0, 1, 2, 3]  # the "cpu" total line is not a CPU
    assert all(list(t) == ["cpu", *MODES] for t in times)  # guest and guest_nice are inside user/nice
    hz = os.sysconf("SC_CLK_TCK")
    assert times[0] == {"cpu": 0, "user": 31 / hz, "nice": 0.0, "system": 25 / hz, "idle": 4101 / hz,
                        "iowait": 3 / hz, "irq": 0.0, "softirq": 2 / hz, "steal": 0.0}


def test_cpu_times_of_an_old_kernel_leave_out_what_it_does_not_count():
    # Linux 2.4 printed user nice system idle; 2.6.0 to 2.6.10 had no steal column. An offline CPU
    # has no line, and the others keep their numbers
    times = parse_stat("cpu  10 0 20 300\ncpu0 10 0 20 300\ncpu2 1 2 3 4 5 6 7\nintr 5\n", 100)
    assert times == [{"cpu": 0, "user": 0.1, "nice": 0.0, "system": 0.2, "idle": 3.0},
                     {"cpu": 2, "user": 0.01, "nice": 0.02, "system": 0.03, "idle": 0.04, "iowait": 0.05,
                      "irq": 0.06, "softirq": 0.07}]
    assert parse_stat("cpu0 garbage here\ncpu1 5 6\ncpux 1 2 3 4\n", 100) == []


def test_cpu_times_without_a_stat_or_a_cpu_line_raise_oserror(tmp_path):
    driver = LinuxSystemperfDriver(tmp_path, tmp_path)
    with pytest.raises(OSError):
        driver.cpu_times()  # no stat at all
    (tmp_path / "stat").write_text("cpu  1 2 3 4\nintr 0\n")
    with pytest.raises(OSError):
        driver.cpu_times()


def test_cpu_times_of_this_machine_agree_with_psutil_and_grow():
    driver = LinuxSystemperfDriver("/proc", "/sys")
    first = driver.cpu_times()
    reference = psutil.cpu_times(percpu=True)
    assert len(first) == len(reference) == psutil.cpu_count()
    for mine, theirs in zip(first, reference):
        for mode in MODES:  # read a moment apart: equal within a few ticks
            assert 0 <= getattr(theirs, mode) - mine[mode] < 1.0, (mode, mine, theirs)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the idle or busy ticks of some CPU move within a tick or so
        later = driver.cpu_times()
        if sum(t[m] for t in later for m in MODES) > sum(t[m] for t in first for m in MODES):
            break
        time.sleep(0.02)
    else:
        pytest.fail("/proc/stat did not move in 5 s")
    for before, after in zip(first, later):
        assert all(after[m] >= before[m] for m in MODES), (before, after)
