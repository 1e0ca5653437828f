"""The ``wifi`` driver of the generic Linux board: NetworkManager over D-Bus (``wifi_nm``), the one
maintained way to keep Wi-Fi profiles on a Linux device. Where NetworkManager does not run, or has no
Wi-Fi device, the driver's probe says so and the capability reports it absent.
"""
from __future__ import annotations

from pydantic import Field

from portald.settings import Settings as _Settings

from . import host_paths

CAPABILITY = "wifi"


class Settings(_Settings):
    # the D-Bus system bus NetworkManager listens on
    bus_address: str = host_paths.SYSTEM_BUS
    # how long a scan waits for fresh results before answering the last ones
    scan_timeout_seconds: float = Field(10.0, gt=0, le=60)
    # how long joining a network waits for the connection to come up
    connect_timeout_seconds: float = Field(40.0, gt=0, le=300)


def create_driver(ctx, settings: Settings):
    from .wifi_nm import NmWifiDriver

    return NmWifiDriver(ctx, settings)
