"""The generic Linux watchdog driver against kernel-shaped sysfs trees and a stand-in device node.

No real watchdog is ever opened: arming one (even softdog) would reset this machine. The device node
is a regular file in tmp_path (so the magic 'V' written before close can be read back), and the ioctl
call is a recording fake of the kernel's watchdog core, injected in place of ``fcntl.ioctl``. What this
cannot prove: that a real driver accepts these calls; the request numbers themselves are checked
against the kernel's own header, and one test sends them through the real ``fcntl.ioctl``.
"""
from __future__ import annotations

import errno
import os
import shutil
import struct
import subprocess

import pytest

from conftest import FIXTURES, admin_token, bearer
from portald_plugins.boards.linux.wdt import LinuxWatchdogDriver
from portald_plugins.boards.linux.wdt_ioctl import (REQUESTS, WDIOF_KEEPALIVEPING, WDIOF_MAGICCLOSE,
                                                  WDIOF_SETTIMEOUT, WDIOS_DISABLECARD, WDIOS_ENABLECARD,
                                                  request_numbers)

NAMES = {number: name for name, number in REQUESTS.items()}
HEADER_PROGRAM = r"""
#include <stdio.h>
#include <linux/watchdog.h>
int main(void) {
    printf("%u %u %u %u %u\n", (unsigned) WDIOC_GETSUPPORT, (unsigned) WDIOC_SETOPTIONS,
           (unsigned) WDIOC_KEEPALIVE, (unsigned) WDIOC_SETTIMEOUT, (unsigned) WDIOC_GETTIMEOUT);
    return 0;
}
"""


class FakeKernel:
    """The watchdog core's side of the ioctls: records (name, argument) and answers like the kernel.
    ``step`` rounds timeouts up as a coarse hardware prescaler does; ``fail`` maps a request name to
    the errno the kernel should answer it with."""

    def __init__(self, identity=b"iTCO_wdt", options=WDIOF_SETTIMEOUT | WDIOF_MAGICCLOSE | WDIOF_KEEPALIVEPING,
                 timeout=30, step=1):
        self.identity, self.options, self.timeout, self.step = identity, options, timeout, step
        self.calls: list[tuple[str, int | None]] = []
        self.fail: dict[str, int] = {}

    def __call__(self, fd: int, request: int, arg: bytes) -> bytes:
        name = NAMES[request]
        os.fstat(fd)  # the fd must be open, as the kernel would insist
        value = struct.unpack("=i", arg)[0] if len(arg) == 4 else None
        self.calls.append((name, value))
        if name in self.fail:
            raise OSError(self.fail[name], os.strerror(self.fail[name]))
        if name == "WDIOC_GETSUPPORT":
            return struct.pack("=II32s", self.options, 0, self.identity)
        if name == "WDIOC_SETTIMEOUT":
            self.timeout = -(-value // self.step) * self.step
            return struct.pack("=i", self.timeout)
        if name == "WDIOC_GETTIMEOUT":
            return struct.pack("=i", self.timeout)
        return arg

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


@pytest.fixture
def machine(tmp_path):
    """Copy a fixture sysfs tree to tmp_path and give it a dev folder with stand-in nodes."""

    def build(name: str, nodes=("watchdog0", "watchdog1")):
        sys_dir = tmp_path / name / "sys"
        folder = "machines/uno-2484g" if name == "itco" else f"cases/{name}"  # itco: the UNO-2484G's iTCO_wdt
        shutil.copytree(FIXTURES / folder / "sys", sys_dir, symlinks=True)
        dev = tmp_path / name / "dev"
        dev.mkdir()
        for node in nodes:
            (dev / node).write_bytes(b"")
        return sys_dir, dev

    return build


def driver_for(sys_dir, dev, kernel=None, device=None):
    return LinuxWatchdogDriver(sys_dir / "class" / "watchdog", dev, device, kernel or FakeKernel())


def test_ioctl_numbers_match_the_kernel_header(tmp_path):
    source = tmp_path / "wd.c"
    source.write_text(HEADER_PROGRAM)
    built = subprocess.run(["gcc", "-o", str(tmp_path / "wd"), str(source)], capture_output=True, text=True)
    assert built.returncode == 0, f"needs gcc and linux-libc-dev (make test installs them): {built.stderr}"
    printed = subprocess.run([str(tmp_path / "wd")], capture_output=True, text=True, check=True).stdout.split()
    names = ["WDIOC_GETSUPPORT", "WDIOC_SETOPTIONS", "WDIOC_KEEPALIVE", "WDIOC_SETTIMEOUT", "WDIOC_GETTIMEOUT"]
    assert {name: REQUESTS[name] for name in names} == dict(zip(names, map(int, printed)))


def test_ioctl_numbers_use_the_three_bit_direction_layout_on_powerpc_and_mips():
    # arch/powerpc/include/uapi/asm/ioctl.h: _IOC_READ = 2, _IOC_WRITE = 4, direction at bit 29
    for machine in ("ppc64le", "mips"):
        numbers = request_numbers(machine)
        assert numbers["WDIOC_KEEPALIVE"] == 0x40045705
        assert numbers["WDIOC_GETSUPPORT"] == 0x40285700
        assert numbers["WDIOC_SETTIMEOUT"] == 0xC0045706
    assert request_numbers("aarch64") == request_numbers("x86_64")


def test_probe_and_info_read_sysfs_without_touching_the_device(machine):
    sys_dir, dev = machine("itco")
    kernel = FakeKernel()
    driver = driver_for(sys_dir, dev, kernel)
    assert driver.probe() and driver.device == "watchdog0"
    assert driver.info() == {"type": "iTCO_wdt", "enabled": False, "timeout": 30, "min": 2, "max": 613}
    assert kernel.calls == [] and (dev / "watchdog0").read_bytes() == b""


def test_config_picks_another_watchdog(machine):
    sys_dir, dev = machine("itco")
    driver = driver_for(sys_dir, dev, device="watchdog1")
    assert driver.probe()
    assert driver.info()["type"] == "Software Watchdog" and driver.info()["max"] == 65535


def test_a_watchdog_without_a_device_node_is_not_offered(machine):
    sys_dir, dev = machine("itco", nodes=("watchdog1",))
    assert driver_for(sys_dir, dev).device == "watchdog1"
    assert not driver_for(sys_dir, dev, device="watchdog0").probe()
    sys_dir, dev = machine("old-kernel", nodes=())
    assert not driver_for(sys_dir, dev).probe()


def test_kernel_before_min_max_in_sysfs_gets_the_fallback_range(machine):
    sys_dir, dev = machine("old-kernel")
    info = driver_for(sys_dir, dev).info()
    assert (info["min"], info["max"], info["timeout"], info["type"]) == (1, 65535, 60, "Software Watchdog")


def test_kernel_without_watchdog_sysfs_attributes_is_named_by_its_device(machine):
    sys_dir, dev = machine("no-sysfs-attrs")
    driver = driver_for(sys_dir, dev)
    assert driver.probe()
    assert driver.info() == {"type": "watchdog0", "enabled": False, "timeout": 0, "min": 1, "max": 65535}


def test_enable_opens_sets_timeout_enables_pets_and_reads_back(machine):
    sys_dir, dev = machine("itco")
    kernel = FakeKernel(step=4)
    driver = driver_for(sys_dir, dev, kernel)
    driver.enable(30)
    assert kernel.calls == [("WDIOC_GETSUPPORT", None), ("WDIOC_SETTIMEOUT", 30),
                            ("WDIOC_SETOPTIONS", WDIOS_ENABLECARD), ("WDIOC_KEEPALIVE", 0),
                            ("WDIOC_GETTIMEOUT", 0)]
    assert driver.armed
    assert driver.info()["enabled"] is True and driver.info()["timeout"] == 32  # what the hardware set
    driver.keepalive()
    assert kernel.names()[-1] == "WDIOC_KEEPALIVE"


def test_timeout_set_while_disarmed_waits_for_enable(machine):
    sys_dir, dev = machine("itco")
    kernel = FakeKernel()
    driver = driver_for(sys_dir, dev, kernel)
    driver.set_timeout(20)
    driver.keepalive()
    assert kernel.calls == [] and driver.info()["timeout"] == 20 and not driver.armed
    driver.enable()
    assert ("WDIOC_SETTIMEOUT", 20) in kernel.calls and driver.info()["timeout"] == 20


def test_timeout_change_while_armed_goes_to_the_hardware_at_once(machine):
    sys_dir, dev = machine("itco")
    kernel = FakeKernel()
    driver = driver_for(sys_dir, dev, kernel)
    driver.enable(30)
    driver.set_timeout(100)
    assert ("WDIOC_SETTIMEOUT", 100) in kernel.calls and driver.info()["timeout"] == 100


def test_disable_sends_disablecard_then_the_magic_close(machine):
    sys_dir, dev = machine("itco")
    kernel = FakeKernel()
    driver = driver_for(sys_dir, dev, kernel)
    driver.enable(30)
    driver.disable()
    assert kernel.calls[-1] == ("WDIOC_SETOPTIONS", WDIOS_DISABLECARD)
    assert (dev / "watchdog0").read_bytes() == b"V"
    assert not driver.armed and driver.info()["enabled"] is False
    assert driver.info()["timeout"] == 30  # kept for the next enable


def test_disable_when_disarmed_touches_nothing(machine):
    sys_dir, dev = machine("itco")
    kernel = FakeKernel()
    driver_for(sys_dir, dev, kernel).disable()
    assert kernel.calls == [] and (dev / "watchdog0").read_bytes() == b""


def test_release_closes_without_the_magic_character(machine):
    sys_dir, dev = machine("itco")
    driver = driver_for(sys_dir, dev)
    driver.enable(30)
    driver.release()
    assert not driver.armed and (dev / "watchdog0").read_bytes() == b""


def test_nowayout_watchdog_refuses_to_disarm_and_stays_held(machine):
    sys_dir, dev = machine("itco")
    (sys_dir / "class" / "watchdog" / "watchdog0" / "nowayout").write_text("1\n")
    kernel = FakeKernel()
    driver = driver_for(sys_dir, dev, kernel)
    driver.enable(30)
    with pytest.raises(OSError) as caught:
        driver.disable()
    assert caught.value.errno == errno.EBUSY and "nowayout" in caught.value.strerror
    assert driver.armed and (dev / "watchdog0").read_bytes() == b""


def test_disablecard_refused_keeps_the_device_held(machine):
    sys_dir, dev = machine("itco")
    kernel = FakeKernel()
    driver = driver_for(sys_dir, dev, kernel)
    driver.enable(30)
    kernel.fail["WDIOC_SETOPTIONS"] = errno.EBUSY
    with pytest.raises(OSError):
        driver.disable()
    assert driver.armed and (dev / "watchdog0").read_bytes() == b""


def test_failure_after_open_disarms_what_the_open_armed(machine):
    sys_dir, dev = machine("itco")
    kernel = FakeKernel()
    kernel.fail["WDIOC_SETTIMEOUT"] = errno.EINVAL
    driver = driver_for(sys_dir, dev, kernel)
    with pytest.raises(OSError) as caught:
        driver.enable(500)
    assert caught.value.errno == errno.EINVAL
    assert not driver.armed and (dev / "watchdog0").read_bytes() == b"V"


def test_fixed_timeout_hardware_refuses_another_timeout(machine):
    sys_dir, dev = machine("itco")
    kernel = FakeKernel(options=WDIOF_MAGICCLOSE | WDIOF_KEEPALIVEPING, timeout=30)
    driver = driver_for(sys_dir, dev, kernel)
    with pytest.raises(OSError) as caught:
        driver.enable(60)
    assert caught.value.errno == errno.EOPNOTSUPP and not driver.armed
    driver.enable(30)
    assert driver.armed and "WDIOC_SETTIMEOUT" not in kernel.names()


def test_disable_takes_over_a_watchdog_someone_else_left_running(machine):
    sys_dir, dev = machine("itco")
    (sys_dir / "class" / "watchdog" / "watchdog0" / "state").write_text("active\n")
    kernel = FakeKernel()
    driver = driver_for(sys_dir, dev, kernel)
    assert driver.info()["enabled"] is True and not driver.armed
    driver.disable()
    assert ("WDIOC_SETOPTIONS", WDIOS_DISABLECARD) in kernel.calls
    assert (dev / "watchdog0").read_bytes() == b"V"


def test_real_ioctl_on_something_that_is_not_a_watchdog_fails_cleanly(machine):
    sys_dir, dev = machine("itco")
    driver = LinuxWatchdogDriver(sys_dir / "class" / "watchdog", dev)  # the real fcntl.ioctl
    with pytest.raises(OSError) as caught:
        driver.enable(30)
    assert caught.value.errno == errno.ENOTTY
    assert not driver.armed and (dev / "watchdog0").read_bytes() == b"V"


# -- through the API, on the generic Linux board ----------------------------------------------------

def _linux_app(make_app, machine_dirs, **overrides):
    sys_dir, dev = machine_dirs
    app = make_app(board="auto", sysfs_root=str(sys_dir), dev_root=str(dev), **overrides)
    driver = app.extensions["portald"].host.drivers["wdt"]
    driver.wrapped.ioctl = kernel = FakeKernel()  # the core runs the driver through a BlockingDriver
    client = app.test_client()
    return app, client, bearer(admin_token(client)), kernel


def test_api_on_linux_shows_arms_and_disarms_the_itco_watchdog(make_app, machine):
    dirs = machine("itco")
    app, client, headers, kernel = _linux_app(make_app, dirs)
    assert client.get("/platform/api/perif/wdt", headers=headers).get_json() == {
        "enabled": False, "type": "iTCO_wdt", "timeoutInSeconds": 30, "timeoutMaxInSeconds": 613,
        "timeoutMinInSeconds": 2}
    response = client.put("/platform/api/perif/wdt", json={"enabled": True, "seconds": 120}, headers=headers)
    assert response.status_code == 200 and response.get_json() == {"enabled": True, "seconds": 120}
    assert ("WDIOC_SETTIMEOUT", 120) in kernel.calls
    control = app.extensions["portald"].host.memos["wdt"]["control"]
    assert control.pet_interval == 40 and not control.petter.dead
    too_long = client.put("/platform/api/perif/wdt/timeout", json={"seconds": 614}, headers=headers)
    assert too_long.status_code == 422 and "WDT" in too_long.get_json()["errors"]
    response = client.put("/platform/api/perif/wdt", json={"enabled": False}, headers=headers)
    assert response.get_json() == {"enabled": False, "seconds": 120}
    assert (dirs[1] / "watchdog0").read_bytes() == b"V" and control.petter is None


def test_api_on_linux_nowayout_disable_is_422_and_petting_goes_on(make_app, machine):
    dirs = machine("itco")
    (dirs[0] / "class" / "watchdog" / "watchdog0" / "nowayout").write_text("1\n")
    app, client, headers, kernel = _linux_app(make_app, dirs)
    client.put("/platform/api/perif/wdt", json={"enabled": True}, headers=headers)
    response = client.put("/platform/api/perif/wdt", json={"enabled": False}, headers=headers)
    assert response.status_code == 422 and "nowayout" in response.get_json()["errors"]["WDT"]
    control = app.extensions["portald"].host.memos["wdt"]["control"]
    assert control.driver.armed and not control.petter.dead


def test_api_on_linux_clean_stop_disarms_with_the_magic_close(make_app, machine):
    dirs = machine("itco")
    app, client, headers, kernel = _linux_app(make_app, dirs)
    client.put("/platform/api/perif/wdt", json={"enabled": True, "seconds": 10}, headers=headers)
    app.extensions["portald"].shutdown()
    assert kernel.calls[-1] == ("WDIOC_SETOPTIONS", WDIOS_DISABLECARD)
    assert (dirs[1] / "watchdog0").read_bytes() == b"V"


def test_api_on_linux_uses_the_device_of_plugins_linux_wdt(make_app, machine):
    dirs = machine("itco")
    app, client, headers, kernel = _linux_app(make_app, dirs, plugins={"linux": {"wdt": {"device": "watchdog1"}}})
    assert client.get("/platform/api/perif/wdt", headers=headers).get_json()["type"] == "Software Watchdog"
    assert app.extensions["portald"].host.status()["drivers"]["wdt"]["driver"] == "linux.wdt"


@pytest.mark.parametrize("device", ["watchdog", "../watchdog0", "watchdog0x", 0])
def test_a_bad_linux_wdt_device_skips_the_driver_with_the_reason(make_app, machine, device):
    sys_dir, dev = machine("itco")
    app = make_app(board="auto", sysfs_root=str(sys_dir), dev_root=str(dev), plugins={"linux": {"wdt": {"device": device}}})
    host = app.extensions["portald"].host
    assert "wdt" not in host.drivers
    assert "[wdt]" in host.records["linux"].reason and "device" in host.records["linux"].reason
