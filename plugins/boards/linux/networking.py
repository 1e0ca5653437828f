"""The ``networking`` driver of the generic Linux board: which of the two drivers serves this machine.

* NetworkManager (``net_nm.NmNetworkingDriver``, over D-Bus) when it owns
  ``org.freedesktop.NetworkManager`` on the system bus — the usual case on edge distributions. Changes
  go into NM's connection profiles, so they survive a reboot; rollback uses NM's checkpoints.
* Otherwise netlink (``net_netlink.NetlinkNetworkingDriver``, pyroute2) for the live state, writing the
  persistent configuration of the stack it detects (ifupdown's ``interfaces.d`` or systemd-networkd's
  ``.network`` files, ``net_persist``); rollback restores the daemon's own snapshot.

``networkmanager = "never"`` forces netlink, ``"always"`` NM (absent when NM does not answer).
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from portald.settings import Settings as _Settings

from . import host_paths

CAPABILITY = "networking"


class Settings(_Settings):
    networkmanager: Literal["auto", "always", "never"] = "auto"
    # the D-Bus system bus NetworkManager (and systemd-resolved) listen on
    bus_address: str = host_paths.SYSTEM_BUS
    # the netlink driver's persistent config: "auto" detects ifupdown or systemd-networkd
    stack: Literal["auto", "ifupdown", "networkd", "none"] = "auto"
    ifupdown_dir: str = host_paths.IFUPDOWN_DIR
    ifupdown_interfaces_file: str = host_paths.IFUPDOWN_INTERFACES_FILE
    networkd_dir: str = host_paths.NETWORKD_DIR
    resolv_conf: str = host_paths.RESOLV_CONF
    # the netlink driver's DHCP client: started with the interface name appended; [] = the stack's own
    # (networkd's reload + reconfigure), else "dhclient -4 -nw" with ifupdown's pid/lease files
    dhcp_command: list[str] = []
    # ... and stopped with (interface name appended) before a static address is set
    dhcp_release_command: list[str] = []
    # stack "none" only: also write the static DNS servers into resolv_conf (else it is left alone)
    manage_resolv_conf: bool = False
    timeout_seconds: float = Field(20.0, gt=0, le=300)
    # NetworkManager's own rollback fires this long after the change window ends, in case the daemon
    # is dead by then (the daemon itself restores at the end of the window)
    checkpoint_margin_seconds: float = Field(30.0, ge=1, le=600)


def create_driver(ctx, settings: Settings):
    from . import net_nm

    if settings.networkmanager != "never" and (settings.networkmanager == "always"
                                               or net_nm.networkmanager_runs(settings)):
        return net_nm.NmNetworkingDriver(ctx, settings)
    from . import net_netlink

    return net_netlink.NetlinkNetworkingDriver(ctx, settings)
