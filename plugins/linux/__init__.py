"""The generic Linux board: drivers that read the kernel's standard interfaces (sysfs hwmon, DMI)
under the configured roots. These are the fallback drivers: ``trylast`` so that an OEM board plugin's
drivers, and the sim board's, are asked first."""
from portald.hookspecs import hookimpl

from .dmi import LinuxBoardDriver
from .hwmon import LinuxHwmonDriver


@hookimpl(trylast=True)
def portald_drivers(ctx):
    return {
        "hwmon": LinuxHwmonDriver(ctx.paths.sysfs_root),
        "board": LinuxBoardDriver(ctx.paths.sysfs_root),
    }
