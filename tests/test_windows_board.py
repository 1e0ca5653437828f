"""The Windows board (``plugins/boards/windows``), on Linux: its drivers satisfy their capabilities'
Protocols, the board offers nothing off Windows, and the mappings from psutil's Windows results to the
spec's values are right — checked with made-up psutil results (namedtuples shaped like psutil's on
Windows, and stand-ins for ``psutil.Process`` / ``WindowsService`` where a driver calls them).

Nothing here has run on Windows: the psutil calls themselves, the registry read and the SCM are
untested."""
from __future__ import annotations

from collections import namedtuple
from types import SimpleNamespace

import psutil
import pytest

from portald import contract
from portald.board import collect_drivers, driver_modules
from portald.drivers import DriverError, NotFound
from portald_plugins.boards import windows
from portald_plugins.boards.windows import disk, processes, services, systemperf

# psutil's namedtuples as psutil builds them on Windows (psutil/_ntuples.py, WINDOWS branch)
scputimes = namedtuple("scputimes", "user system idle interrupt dpc")
svmem = namedtuple("svmem", "total available percent used free")
pmem = namedtuple("pmem", "rss vms num_page_faults peak_wset wset peak_paged_pool paged_pool "
                          "peak_nonpaged_pool nonpaged_pool pagefile peak_pagefile private")
pcputimes = namedtuple("pcputimes", "user system children_user children_system")
sdiskpart = namedtuple("sdiskpart", "device mountpoint fstype opts")
sdiskusage = namedtuple("sdiskusage", "total used free percent")
sdiskio = namedtuple("sdiskio", "read_count write_count read_bytes write_bytes read_time write_time")

NOW = 1_700_000_000.0


@pytest.fixture
def protocols(make_app) -> dict[str, type]:
    """capability -> Protocol, as the core checks drivers against them."""
    host = make_app(board="auto").extensions["portald"].host
    return {name: cap.protocol for name, cap in host.capabilities.items() if cap.protocol is not None}


class StubContext:
    name = "windows"
    config: dict = {}

    def __init__(self):
        self.problems, self.absent = [], None

    def report_problem(self, text):
        self.problems.append(text)

    def set_absent(self, reason):
        self.absent = reason


# --- the board ------------------------------------------------------------------------------------

def test_every_windows_driver_satisfies_its_capabilitys_protocol(protocols):
    ctx = StubContext()
    drivers = collect_drivers("portald_plugins.boards.windows", ctx)
    assert ctx.problems == []
    assert set(drivers) == {"processes", "systemperf", "disk", "services"}
    for capability, driver in drivers.items():
        assert contract.problems(driver, protocols[capability]) == [], capability
        assert driver.name == f"windows.{capability}"
    assert {m.CAPABILITY for m in driver_modules("portald_plugins.boards.windows")} <= set(protocols)


def test_off_windows_the_boards_drivers_are_offered_but_never_chosen(make_app):
    host = make_app(board="auto").extensions["portald"].host
    assert host.records["windows"].state == "active"
    offered = {choice.capability for candidates in host.candidates.values() for choice in candidates
               if choice.plugin == "windows"}
    assert offered == {"processes", "systemperf", "disk", "services"}
    chosen = {cap: info["plugin"] for cap, info in host.status()["drivers"].items()}
    assert "windows" not in chosen.values(), chosen


def test_no_windows_driver_probes_true_off_windows(monkeypatch):
    monkeypatch.setattr(psutil, "win_service_iter", lambda: iter([]), raising=False)
    for driver in collect_drivers("portald_plugins.boards.windows", StubContext()).values():
        assert driver.probe() is False, driver.name


# --- processes ------------------------------------------------------------------------------------

def _info(**overrides) -> dict:
    info = {"pid": 1234, "ppid": 604, "name": "notepad.exe", "num_threads": 5,
            "memory_info": pmem(*[4096 * 1000] + [0] * 11), "cpu_percent": 12.5,
            "cpu_times": pcputimes(3.0, 1.0, 0.0, 0.0), "username": r"EDGE-01\operator",
            "create_time": NOW - 40.0, "exe": r"C:\Windows\System32\notepad.exe",
            "cmdline": [r"C:\Windows\System32\notepad.exe", r"C:\notes.txt"]}
    info.update(overrides)
    return info


def test_process_row_is_the_spec_row_with_the_previous_reads_cpu_percent():
    assert processes.process_row(_info(), NOW, first_seen=False) == {
        "pid": 1234, "ppid": 604, "name": "notepad.exe", "numThreads": 5, "memUsage": 4096000,
        "cpuPercent": 12.5, "username": r"EDGE-01\operator", "elapsedTime": 40000,
        "path": r"C:\Windows\System32\notepad.exe", "cmdline": r"C:\Windows\System32\notepad.exe C:\notes.txt"}


def test_a_process_seen_first_gets_its_average_since_it_started():
    # 4 s of CPU over 40 s of life: 10 % (cpu_percent's first answer, a meaningless 0.0, is ignored)
    assert processes.process_row(_info(cpu_percent=0.0), NOW, first_seen=True)["cpuPercent"] == 10.0


def test_what_windows_refuses_to_tell_is_zero_empty_or_left_out():
    # the spec's Windows example: System (PID 4) has no ppid, path or cmdline, the account as DOMAIN\user
    row = processes.process_row(_info(pid=4, ppid=0, name="System", exe=None, cmdline=None, memory_info=None,
                                      num_threads=None, username=None, cpu_times=None), NOW, first_seen=True)
    assert row == {"pid": 4, "name": "System", "numThreads": 0, "memUsage": 0, "cpuPercent": 12.5,
                   "username": "", "elapsedTime": 40000}
    assert processes.process_row(_info(username="NT AUTHORITY\\SYSTEM"), NOW, False)["username"] == "NT AUTHORITY\\SYSTEM"


@pytest.mark.parametrize("pid, name, reason", [
    (0, "System Idle Process", "System Idle Process"),
    (4, "System", "System process"),
    (999, "portald.exe", "does not kill itself"),
    (620, "CSRSS.EXE", "critical to Windows"),
    (700, "lsass.exe", "critical to Windows"),
])
def test_ending_idle_system_the_daemon_or_a_critical_process_is_refused(pid, name, reason):
    assert reason in processes.refusal(pid, name, own_pid=999)


def test_an_ordinary_process_may_be_ended():
    assert processes.refusal(1234, "notepad.exe", own_pid=999) is None


class FakeProcess:
    """A ``psutil.Process`` for one live process; records what ended it."""

    table: dict[int, "FakeProcess"] = {}

    def __new__(cls, pid):
        if pid not in cls.table:
            raise psutil.NoSuchProcess(pid)
        return cls.table[pid]

    @classmethod
    def add(cls, pid, name):
        proc = object.__new__(cls)
        proc.pid, proc._name, proc.ended_by, proc.alive = pid, name, None, True
        cls.table[pid] = proc
        return proc

    def name(self):
        return self._name

    def create_time(self):
        return NOW - 5

    def is_running(self):
        return self.alive

    def terminate(self):
        self.ended_by, self.alive = "terminate", False

    def kill(self):
        self.ended_by, self.alive = "kill", False


@pytest.fixture
def fake_processes(monkeypatch):
    FakeProcess.table = {}
    monkeypatch.setattr(psutil, "Process", FakeProcess)
    return FakeProcess


@pytest.mark.parametrize("signal, call", [("SIGTERM", "terminate"), ("SIGKILL", "kill")])
def test_signals_end_the_process_through_psutil_and_targets_carry_no_uid(fake_processes, signal, call):
    proc = fake_processes.add(1234, "notepad.exe")
    driver = processes.WindowsProcessesDriver()
    target = driver.target(1234)
    assert target == {"pid": 1234, "name": "notepad.exe", "uid": -1, "started": NOW - 5}
    assert driver.running(1234, target["started"])
    assert driver.signal(1234, target["started"], signal) is True
    assert proc.ended_by == call
    assert not driver.running(1234, target["started"])
    assert driver.signal(1234, target["started"], signal) is False  # gone: nothing is signalled


def test_target_of_a_missing_or_critical_process(fake_processes):
    fake_processes.add(620, "csrss.exe")
    driver = processes.WindowsProcessesDriver()
    with pytest.raises(NotFound):
        driver.target(4321)
    with pytest.raises(DriverError, match="critical to Windows"):
        driver.target(620)


# --- systemperf -----------------------------------------------------------------------------------

def test_cpu_info_from_an_intel_identifier_and_the_registry_name():
    info = systemperf.cpu_info("Intel64 Family 6 Model 78 Stepping 3, GenuineIntel",
                               "Intel(R) Core(TM) i7-6600U CPU @ 2.60GHz ", 2600.0, 2)
    assert info == {"cpu": 0, "vendorId": "GenuineIntel", "family": "6", "model": "78", "stepping": 3,
                    "physicalId": "", "coreId": "", "cores": 2,
                    "modelName": "Intel(R) Core(TM) i7-6600U CPU @ 2.60GHz", "mhz": 2600.0,
                    "cacheSize": 0, "flags": [], "microcode": ""}


def test_cpu_info_from_an_arm64_identifier():
    info = systemperf.cpu_info("ARMv8 (64-bit) Family 8 Model D0B Revision   0, Qualcomm Technologies Inc",
                               "Snapdragon (TM) 8cx Gen 3 @ 3.0 GHz", 2995.0, 8)
    assert (info["vendorId"], info["family"], info["model"], info["stepping"]) == \
        ("Qualcomm Technologies Inc", "8", "D0B", 0)


def test_cpu_info_without_an_identifier_is_all_unknown():
    info = systemperf.cpu_info("", "", 0, 0)
    assert (info["vendorId"], info["family"], info["model"], info["stepping"], info["mhz"]) == ("", "", "", 0, 0.0)


def test_busy_percent_does_not_count_interrupt_and_dpc_twice():
    before = [scputimes(10.0, 5.0, 85.0, 1.0, 1.0), scputimes(0.0, 0.0, 100.0, 0.0, 0.0)]
    # CPU 0: 6 s user + 2 s system (of which 1 s interrupts and 1 s DPCs) busy of 10 s; CPU 1: idle
    after = [scputimes(16.0, 7.0, 87.0, 2.0, 2.0), scputimes(0.0, 0.0, 110.0, 0.0, 0.0)]
    assert systemperf.busy_percent(before, after) == [80.0, 0.0]
    assert systemperf.busy_percent(after, after) == [0.0, 0.0]  # no time passed: 0, not a division by 0


def test_usage_is_since_boot_first_then_since_the_previous_call(monkeypatch):
    readings = iter([[scputimes(30.0, 10.0, 60.0, 0.0, 0.0)], [scputimes(35.0, 10.0, 65.0, 0.0, 0.0)],
                     [scputimes(35.0, 10.0, 65.0, 0.0, 0.0), scputimes(1.0, 0.0, 3.0, 0.0, 0.0)]])
    monkeypatch.setattr(psutil, "cpu_times", lambda percpu: next(readings))
    driver = systemperf.WindowsSystemperfDriver()
    assert driver.usage() == [40.0]
    assert driver.usage() == [50.0]
    assert driver.usage() == [40.9, 25.0]  # a CPU came: since boot again (45 of 110 s; 1 of 4 s)


def test_memory_has_windows_five_figures_and_zero_for_the_linux_ones():
    vm = svmem(total=8265986048, available=7532920832, percent=8.9, used=733065216, free=7532920832)
    assert systemperf.memory(vm) == {
        "total": 8265986048, "available": 7532920832, "used": 733065216, "usedPercent": 8.9,
        "free": 7532920832, "active": 0, "inactive": 0, "buffers": 0, "cached": 0, "shared": 0, "slab": 0}


def test_cpu_times_take_interrupts_and_dpcs_out_of_system_and_invent_no_linux_mode(monkeypatch):
    # CPU 0: 120 s in the kernel besides idle, of which 3 s interrupts and 7 s DPCs
    monkeypatch.setattr(psutil, "cpu_times", lambda percpu: [scputimes(300.0, 120.0, 5000.0, 3.0, 7.0),
                                                             scputimes(10.0, 1.0, 6000.0, 0.5, 1.0)])
    times = systemperf.WindowsSystemperfDriver().cpu_times()
    assert times == [
        {"cpu": 0, "user": 300.0, "system": 110.0, "idle": 5000.0, "irq": 3.0, "softirq": 7.0},
        # psutil's figures are sampled apart: system never goes below 0
        {"cpu": 1, "user": 10.0, "system": 0.0, "idle": 6000.0, "irq": 0.5, "softirq": 1.0}]


# --- disk -----------------------------------------------------------------------------------------

def test_io_counters_per_physical_drive_in_seconds(monkeypatch):
    monkeypatch.setattr(psutil, "disk_io_counters", lambda perdisk: {
        "PhysicalDrive0": sdiskio(81234, 40321, 2_345_678_848, 987_654_144, 45_200, 61_750),
        "PhysicalDrive1": sdiskio(12, 0, 49152, 0, 3, 0)})
    assert disk.WindowsDiskDriver().io_counters() == [
        {"device": "PhysicalDrive0", "readsCompleted": 81234, "writesCompleted": 40321,
         "readBytes": 2_345_678_848, "writtenBytes": 987_654_144, "readTimeSeconds": 45.2,
         "writeTimeSeconds": 61.75},
        {"device": "PhysicalDrive1", "readsCompleted": 12, "writesCompleted": 0, "readBytes": 49152,
         "writtenBytes": 0, "readTimeSeconds": 0.003, "writeTimeSeconds": 0.0}]
    # no counters found (Windows' disk performance counters switched off): psutil answers {}
    monkeypatch.setattr(psutil, "disk_io_counters", lambda perdisk: {})
    assert disk.WindowsDiskDriver().io_counters() == []


GIB = 1024 ** 3


def test_a_fixed_volume_is_a_disk_with_itself_as_its_one_partition_named_as_in_the_spec():
    entry = disk.volume_disk(sdiskpart("C:\\", "C:\\", "NTFS", "rw,fixed"), sdiskusage(64 * GIB, 16 * GIB, 48 * GIB, 25.0))
    assert entry == {
        "name": "C:", "sizeBytes": 64 * GIB, "physicalBlockSizeBytes": 0, "removable": False, "vendor": "",
        "model": "", "serialNumber": "", "firmwareRevision": "", "mediaType": "Fixed hard disk media",
        "partitions": [{"mountPoint": "C:", "sizeBytes": 64 * GIB, "freeBytes": 48 * GIB, "usedBytes": 16 * GIB,
                        "usedPercent": 25.0, "readOnly": False}]}


@pytest.mark.parametrize("opts, media, removable, read_only", [
    ("rw,removable", "Removable media", True, False),
    ("ro,cdrom", "Removable media", True, True),
    ("ro,fixed", "Fixed hard disk media", False, True),
])
def test_removable_and_optical_volumes(opts, media, removable, read_only):
    entry = disk.volume_disk(sdiskpart("E:\\", "E:\\", "FAT32", opts), sdiskusage(GIB, 0, GIB, 0.0))
    assert (entry["mediaType"], entry["removable"], entry["partitions"][0]["readOnly"]) == (media, removable, read_only)


@pytest.mark.parametrize("opts", ["rw,remote", "rw,ramdisk", "rw,unknown"])
def test_network_drives_and_ram_disks_are_not_disks(opts):
    assert disk.volume_disk(sdiskpart("Z:\\", "Z:\\", "NTFS", opts), sdiskusage(GIB, 0, GIB, 0.0)) is None


def test_an_empty_filesystem_is_zero_percent_used():
    entry = disk.volume_disk(sdiskpart("F:\\", "F:\\", "", "rw,removable"), sdiskusage(0, 0, 0, 0.0))
    assert entry["partitions"][0]["usedPercent"] == 0.0


def test_disks_skips_a_drive_without_medium_and_smart_cannot_be_asked(monkeypatch):
    parts = [sdiskpart("C:\\", "C:\\", "NTFS", "rw,fixed"), sdiskpart("D:\\", "D:\\", "", "ro,cdrom"),
             sdiskpart("Z:\\", "Z:\\", "NTFS", "rw,remote")]

    def usage(path):
        if path == "D:\\":
            raise OSError(21, "The device is not ready")
        return sdiskusage(100 * GIB, 40 * GIB, 60 * GIB, 40.0)

    monkeypatch.setattr(psutil, "disk_partitions", lambda all: parts)
    monkeypatch.setattr(psutil, "disk_usage", usage)
    driver = disk.WindowsDiskDriver()
    assert [d["name"] for d in driver.disks()] == ["C:"]
    assert driver.smart.attributes("C:") is None


# --- services -------------------------------------------------------------------------------------

@pytest.mark.parametrize("state, start_type, status", [
    ("running", "automatic", "running"),
    ("running", "disabled", "running"),  # disabled after it started: it still runs
    ("stopped", "manual", "stopped"),
    ("stopped", "automatic", "stopped"),
    ("stopped", "disabled", "disabled"),
    ("start_pending", "automatic", "unknown"),
    ("stop_pending", "manual", "unknown"),
    ("paused", "manual", "unknown"),
])
def test_service_status_from_the_scms_state_and_start_type(state, start_type, status):
    assert services.status_of(state, start_type) == status


class FakeService:
    """A ``psutil.WindowsService`` (the SCM's answers are fixed)."""

    def __init__(self, name, display_name, state, start_type, denied=False):
        self._name, self._display, self._state, self._start, self._denied = name, display_name, state, start_type, denied

    def name(self):
        return self._name

    def display_name(self):
        return self._display

    def status(self):
        if self._denied:
            raise psutil.AccessDenied(name=self._name)
        return self._state

    def start_type(self):
        return self._start


SERVICES = [FakeService("Spooler", "Print Spooler", "running", "automatic"),
            FakeService("RemoteRegistry", "Remote Registry", "stopped", "disabled"),
            FakeService("WinDefend", "Microsoft Defender Antivirus Service", "running", "automatic", denied=True)]


@pytest.fixture
def scm(monkeypatch):
    def get(name):
        for service in SERVICES:
            if service.name().lower() == name.lower():  # the SCM ignores case
                return service
        raise psutil.NoSuchProcess(pid=None, name=name)

    monkeypatch.setattr(psutil, "win_service_iter", lambda: iter(SERVICES), raising=False)
    monkeypatch.setattr(psutil, "win_service_get", get, raising=False)
    return services.WindowsServicesDriver()


def test_services_are_listed_as_units_the_api_shows_by_their_windows_name(scm):
    assert [(s.unit, s.description, s.status) for s in scm.services()] == [
        ("Spooler.service", "Print Spooler", "running"),
        ("RemoteRegistry.service", "Remote Registry", "disabled"),
        ("WinDefend.service", "Microsoft Defender Antivirus Service", "unknown")]


def test_one_services_status_and_an_unknown_service(scm):
    assert scm.status("Spooler.service") == "running"
    assert scm.status("remoteregistry.service") == "disabled"
    with pytest.raises(NotFound, match="no service NoSuch"):
        scm.status("NoSuch.service")
    with pytest.raises(DriverError, match="not allowed"):
        scm.status("WinDefend.service")


@pytest.mark.parametrize("action", ["start", "stop", "restart"])
def test_starting_and_stopping_is_refused_as_not_supported_on_windows(scm, action):
    with pytest.raises(DriverError, match="not supported on Windows"):
        scm.control("Spooler.service", action)
