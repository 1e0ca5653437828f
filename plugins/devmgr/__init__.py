"""System devices (``GET /platform/api/devmgr``): the hardware the kernel knows, with human names.

The generic driver (``sysfs_devices.SysfsDevices``) reads sysfs under the configured root and is
offered ``trylast`` as the ``devmgr`` capability, so an OEM or sim board plugin that offers its own
``devmgr`` driver wins; in sim mode the offer is the fixed list of ``sim_devices.SimDevices``.
Device names come from the hwdata id databases, parsed once per daemon run on first use.
Config ``[plugins.devmgr]``: ``ids_dir``, the folder holding ``pci.ids`` and ``usb.ids`` (default:
the first of ``/usr/share/hwdata``, ``/usr/share/misc`` that has each file).

The spec's profile has no devmgr key, so this plugin adds none.
"""
from portald.hookspecs import hookimpl

from . import routes
from .names import DEFAULT_IDS_DIRS, IdsDatabase
from .sim_devices import SimDevices
from .sysfs_devices import SysfsDevices

CONFIG_KEYS = {"ids_dir"}


def _ids_folders(config: dict) -> tuple[str, ...]:
    unknown = sorted(set(config) - CONFIG_KEYS)
    if unknown:
        raise ValueError(f"unknown [plugins.devmgr] key(s): {', '.join(unknown)}")
    folder = config.get("ids_dir")
    if folder is None:
        return DEFAULT_IDS_DIRS
    if not isinstance(folder, str) or not folder:
        raise ValueError("[plugins.devmgr] ids_dir must be a folder path")
    return (folder,)


@hookimpl(trylast=True)
def portald_drivers(ctx):
    folders = _ids_folders(ctx.config)
    if ctx.sim:
        return {"devmgr": SimDevices()}
    ids = ctx.memo("ids", lambda: IdsDatabase(folders))
    return {"devmgr": SysfsDevices(ctx.paths.sysfs_root, ids)}


@hookimpl
def portald_startup(ctx):
    if ctx.driver("devmgr") is None:
        ctx.set_absent("no device tree (bus/*/devices, class/*) under the sysfs root")


@hookimpl
def portald_blueprints(ctx):
    return [routes.blueprint(lambda: ctx.driver("devmgr"))]
