"""System devices (``GET /platform/api/devmgr``): the hardware the kernel knows, with human names.

The board's ``devmgr`` driver (``interface.DevmgrDriver``) lists the devices: the Linux board reads
sysfs and names PCI/USB devices from the hwdata databases (``[plugins.linux.devmgr] ids_dir``), the sim
board has a fixed list. The spec's profile has no devmgr key, so this plugin adds none.
"""
from portald.capability import Capability

from . import routes
from .interface import DevmgrDriver

CAPABILITY = Capability(
    "devmgr", DevmgrDriver,
    absent="no device tree (bus/*/devices, class/*) under the sysfs root",
    blueprints=lambda ctx: routes.blueprint(lambda: ctx.driver("devmgr")),
)
CAPABILITY.export(globals())
