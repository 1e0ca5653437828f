"""The sim board's devices (``portald run --sim``): a fixed list shaped like what ``SysfsDevices`` reads
on a small Intel edge PC, so the endpoint answers on any machine in sim mode.
"""
from __future__ import annotations

PCI = "/devices/pci0000:00"
USB = f"{PCI}/0000:00:14.0/usb1"


def _dev(cls, path, name, running=True, ids=None):
    entry = {"class": cls, "instancePath": path, "name": name}
    if ids:
        entry["vendorID"], entry["deviceID"] = ids
    entry["status"] = "running" if running else "stopped"
    return entry


DEVICES = (
    _dev("ACPI", "/devices/LNXSYSTM:00/LNXPWRBN:00", "Power button"),
    _dev("ACPI", "/devices/LNXSYSTM:00/LNXSYBUS:00/PNP0A08:00/device:1f/PNP0000:00",
         "Programmable interrupt controller", running=False),
    _dev("PLATFORM", "/devices/platform/sim-ec", "SIM-EDGE-1000 embedded controller"),
    _dev("PCI", f"{PCI}/0000:00:02.0", "Intel Corporation CoffeeLake-S GT2 [UHD Graphics 630]", ids=("8086", "3E92")),
    _dev("PCI", f"{PCI}/0000:00:14.0", "Intel Corporation Cannon Lake PCH USB 3.1 xHCI Host Controller",
         ids=("8086", "A36D")),
    _dev("PCI", f"{PCI}/0000:00:16.0", "Intel Corporation Cannon Lake PCH HECI Controller", running=False,
         ids=("8086", "A360")),
    _dev("PCI", f"{PCI}/0000:00:1f.6", "Intel Corporation Ethernet Connection (7) I219-V", ids=("8086", "15BC")),
    _dev("USB", USB, "Linux Foundation 2.0 root hub", ids=("1D6B", "0002")),
    _dev("USB", f"{USB}/1-4", "Genesys Logic, Inc. Hub", ids=("05E3", "0610")),
    _dev("STORAGE", f"{PCI}/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda", "SIM SSD 64GB"),
    _dev("STORAGE", f"{PCI}/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1", "EFI System Partition"),
    _dev("NET", f"{PCI}/0000:00:1f.6/net/eth0", "eth0"),
)


class SimDevices:
    name = "sim.devmgr"

    def probe(self) -> bool:
        return True

    def read(self) -> list[dict]:
        return [dict(device) for device in DEVICES]


CAPABILITY = "devmgr"


def create_driver(ctx, settings):
    return SimDevices()
