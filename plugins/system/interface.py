"""The ``system`` driver interface: the OS the daemon runs on and the device's primary address."""
from __future__ import annotations

from typing import Protocol, TypedDict

from portald.drivers import Driver


class OsFacts(TypedDict):
    name: str  # the kernel's name, lower case: "linux"
    arch: str  # the machine's architecture as the kernel names it: "x86_64", "aarch64", "armv7l"
    release: str  # the kernel's release: "6.1.0-18-amd64"
    pretty_name: str  # the distribution's one-line name: "Debian GNU/Linux 12 (bookworm)"; "" when unknown


class SystemDriver(Driver, Protocol):
    """What the capability profile (``os``, ``os:arch``, ``os:description``, ``system:ip``,
    ``system:mac``) and ``GET /platform/api/host/info`` (``os``, ``kernelArch``, ``platform``) say about
    the system. Both methods are cheap (called per profile request) and never raise: what cannot be
    read is ``""``.
    """

    def os(self) -> OsFacts:
        """The running OS."""
        ...

    def primary_address(self) -> tuple[str, str]:
        """``(IPv4 address, MAC address in upper case)`` of the interface a client most likely reaches
        the device on: the one carrying the default route, else the first interface that is up and not
        loopback; ``("", "")`` when there is none."""
        ...
