"""The system's identity in the capability profile: ``os``, ``os:arch``, ``os:description``,
``model:name`` (from the board driver's DMI product name) and ``system:ip`` / ``system:mac`` (the
interface of the default route)."""
import platform

from portald.hookspecs import hookimpl

from .network import primary_address


def _os_description() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except OSError:
        return f"{platform.system()} {platform.release()}"


@hookimpl
def portald_profile(ctx):
    board = ctx.driver("board")
    model = ""
    if board is not None:
        info = board.read()
        model = info.get("product_name") or info.get("board_name", "")
    ip, mac = primary_address(ctx.paths.procfs("net", "route"))
    return {
        "os": platform.system().lower(),
        "os:arch": platform.machine(),
        "os:description": ctx.memo("os_description", _os_description),
        "model:name": model,
        "system:ip": ip,
        "system:mac": mac,
    }
