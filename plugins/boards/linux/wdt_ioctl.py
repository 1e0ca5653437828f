"""The Linux watchdog character device (``<dev_root>/watchdogN``) and its ioctls (<linux/watchdog.h>).

This module owns the request numbers and ``WatchdogDevice``, a thin wrapper over one open device: open,
get_support, set_timeout, get_timeout, set_options, keepalive, magic_close and close. It knows nothing of
sysfs, config or the API; ``wdt.py`` drives it.

Opening the device ARMS the watchdog: the kernel's watchdog core starts the timer in open(). Nothing
here opens a device except ``open()``, which the driver calls only to arm it. The ioctl function is
injected (``fcntl.ioctl`` by default) so tests can stand a recording fake of the kernel in for it; it
is called as ``ioctl(fd, request, arg_bytes) -> bytes`` (fcntl copies the bytes into a buffer, passes
its address, and returns the buffer after the call).

Request numbers are ``_IOC(dir, 'W', nr, size)``. The generic layout (asm-generic/ioctl.h: x86, arm,
arm64, riscv, ...) is ``dir << 30 | size << 16 | type << 8 | nr`` with READ=2, WRITE=1. alpha, mips,
powerpc and sparc put a 3-bit dir at bit 29 with READ=2, WRITE=4 (size keeps 13 bits at 16). So on x86:

    WDIOC_GETSUPPORT  _IOR('W', 0, struct watchdog_info)  0x80285700  (struct is u32, u32, u8[32])
    WDIOC_SETOPTIONS  _IOR('W', 4, int)                   0x80045704
    WDIOC_KEEPALIVE   _IOR('W', 5, int)                   0x80045705
    WDIOC_SETTIMEOUT  _IOWR('W', 6, int)                  0xC0045706
    WDIOC_GETTIMEOUT  _IOR('W', 7, int)                   0x80045707

SETOPTIONS and KEEPALIVE are declared ``_IOR`` although the kernel reads (SETOPTIONS) or ignores
(KEEPALIVE) the argument: a historical mistake frozen into the ABI, so we must use the same numbers.
"""
from __future__ import annotations

import fcntl
import os
import platform
import struct
from dataclasses import dataclass
from typing import Callable

WDIOF_SETTIMEOUT = 0x0080
WDIOF_MAGICCLOSE = 0x0100
WDIOF_KEEPALIVEPING = 0x8000
WDIOS_DISABLECARD = 0x0001
WDIOS_ENABLECARD = 0x0002

_INFO = struct.Struct("=II32s")  # struct watchdog_info: options, firmware_version, identity[32]
_INT = struct.Struct("=i")
_ALT_LAYOUT_MACHINES = ("alpha", "mips", "ppc", "powerpc", "sparc")


def request_numbers(machine: str | None = None) -> dict[str, int]:
    """The watchdog ioctl request numbers for ``machine`` (``platform.machine()`` by default)."""
    machine = (machine or platform.machine()).lower()
    if machine.startswith(_ALT_LAYOUT_MACHINES):
        dir_shift, read, write = 29, 2, 4
    else:
        dir_shift, read, write = 30, 2, 1

    def ioc(direction: int, nr: int, size: int) -> int:
        return direction << dir_shift | size << 16 | ord("W") << 8 | nr

    return {
        "WDIOC_GETSUPPORT": ioc(read, 0, _INFO.size),
        "WDIOC_SETOPTIONS": ioc(read, 4, _INT.size),
        "WDIOC_KEEPALIVE": ioc(read, 5, _INT.size),
        "WDIOC_SETTIMEOUT": ioc(read | write, 6, _INT.size),
        "WDIOC_GETTIMEOUT": ioc(read, 7, _INT.size),
    }


REQUESTS = request_numbers()


@dataclass(frozen=True)
class Support:
    options: int
    firmware_version: int
    identity: str


class WatchdogDevice:
    def __init__(self, path: str | os.PathLike, ioctl: Callable[[int, int, bytes], bytes] = fcntl.ioctl):
        self.path, self.ioctl = path, ioctl
        self.fd: int | None = None

    def open(self) -> None:
        """Open the device, which arms the watchdog. O_CLOEXEC: a child process that inherited the fd
        would keep the device open (and armed) after we close or die."""
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)

    def _int(self, name: str, value: int = 0) -> int:
        return _INT.unpack(self.ioctl(self.fd, REQUESTS[name], _INT.pack(value)))[0]

    def get_support(self) -> Support:
        options, firmware, identity = _INFO.unpack(self.ioctl(self.fd, REQUESTS["WDIOC_GETSUPPORT"],
                                                              bytes(_INFO.size)))
        return Support(options, firmware, identity.split(b"\0", 1)[0].decode("ascii", "replace"))

    def set_timeout(self, seconds: int) -> int:
        """Returns the timeout the driver actually set (hardware with coarse prescalers rounds)."""
        return self._int("WDIOC_SETTIMEOUT", seconds)

    def get_timeout(self) -> int:
        return self._int("WDIOC_GETTIMEOUT")

    def set_options(self, flags: int) -> None:
        self._int("WDIOC_SETOPTIONS", flags)

    def keepalive(self) -> None:
        self._int("WDIOC_KEEPALIVE")

    def magic_close(self) -> None:
        """Write the magic character 'V', then close: a driver with WDIOF_MAGICCLOSE stops the timer on
        close only if 'V' was the last thing written; without it the close is taken for a crash."""
        try:
            os.write(self.fd, b"V")
        finally:
            self.close()

    def close(self) -> None:
        """Close without the magic character: the watchdog stays armed (the kernel logs "watchdog did
        not stop!") and resets the board unless someone opens and pets it again in time."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)
