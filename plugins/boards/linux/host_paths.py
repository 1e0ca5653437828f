"""The host paths of the generic Linux board that lie outside the configured roots (``sysfs_root``,
``procfs_root``, ``dev_root``): files the installed OS keeps under ``/etc`` and ``/usr``, and the D-Bus
system bus. This module is the one place their defaults are written; each is the default of a driver
setting (``[plugins.linux.<capability>]``), so a container or a test points it elsewhere.
"""
from __future__ import annotations

# The installation's id (systemd's machine-id(5)): 32 hex digits. [plugins.linux.host] machine_id_file
MACHINE_ID_FILE = "/etc/machine-id"

# The distribution's identity (os-release(5)): the first that exists is read, as systemd does.
# [plugins.linux.system] os_release_files
OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")

# Where distributions install pci.ids and usb.ids (hwdata on Debian and Fedora, pciutils' own copy on
# older ones); the first folder that has a file wins. [plugins.linux.devmgr] ids_dir
IDS_DIRS = ("/usr/share/hwdata", "/usr/share/misc")

# The D-Bus system bus systemd listens on. [plugins.linux.services] bus_address
SYSTEM_BUS = "unix:path=/run/dbus/system_bus_socket"

# Persistent network configuration of the stacks the netlink networking driver writes when
# NetworkManager does not run. [plugins.linux.networking] ifupdown_dir, ifupdown_interfaces_file,
# networkd_dir, resolv_conf
IFUPDOWN_DIR = "/etc/network/interfaces.d"
IFUPDOWN_INTERFACES_FILE = "/etc/network/interfaces"
NETWORKD_DIR = "/etc/systemd/network"
RESOLV_CONF = "/etc/resolv.conf"

# Debian's Mosquitto broker, and the folder the EdgeBus broker (run as the mosquitto account) keeps its
# config, password hashes and persistence in (outside the 0700 state dir, which that account cannot
# reach). [plugins.linux.edgebus] executable, broker_dir
MOSQUITTO = "/usr/sbin/mosquitto"
EDGEBUS_DIR = "/var/lib/portald-edgebus"
