"""The ``control`` driver of the generic Linux board: reboot and shutdown commands, and display power
through DPMS on an X display or, without one, the backlight class's ``bl_power``.

Reboot and shutdown run a configured command through ``ctx.runner`` (never a shell): by default
``systemctl reboot`` / ``systemctl poweroff``, which ask logind (``org.freedesktop.login1.Manager.Reboot``
/ ``PowerOff``) and so honour its inhibitor locks and shut services down in order. The command's exit
status is what the driver reports: ``systemctl`` returns as soon as the job is queued.

The display, tried in this order on every call (X often starts after the daemon):

1. DPMS on the configured X display, through ``xset``. ``xset dpms force off`` exits 0 even when the
   server has no DPMS extension, so support is read from ``xset q``: a server without the extension says
   "Server does not have the DPMS Extension" there (or "Display is not capable of DPMS"), one with it
   "DPMS is Enabled" and "Monitor is On/Off/in Standby/in Suspend", or "DPMS is Disabled". After a
   switch the driver reads the monitor's line back and fails when the monitor did not follow.
   ``force`` also enables DPMS (``+dpms``) when it was disabled, as xset documents.
2. ``<sysfs>/class/backlight/*/bl_power`` (every backlight, or the one named by ``backlight``): the
   fbdev blanking levels, 0 (FB_BLANK_UNBLANK) on and 4 (FB_BLANK_POWERDOWN) off. Written in the
   threadpool (``ctx.blocking``): a backlight behind I2C or an EC can stall.

Settings ``[plugins.linux.control]``: ``reboot_command``, ``shutdown_command``, ``display`` (default
``$DISPLAY``; "" for none), ``xauthority`` (the X cookie file, default ``$XAUTHORITY`` or none),
``xset_command``, ``backlight``, ``timeout_seconds`` (for one command).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from pydantic import Field

from portald.drivers import DriverError
from portald.runner import CommandFailed
from portald.settings import Settings as _Settings

log = logging.getLogger("portald.boards.linux.control")

CAPABILITY = "control"
NO_DPMS = "Server does not have the DPMS Extension"
BL_ON, BL_OFF = 0, 4  # include/uapi/linux/fb.h: FB_BLANK_UNBLANK, FB_BLANK_POWERDOWN


class Settings(_Settings):
    """``[plugins.linux.control]`` (see the module docstring)."""

    reboot_command: list[str] = Field(default_factory=lambda: ["systemctl", "reboot"], min_length=1)
    shutdown_command: list[str] = Field(default_factory=lambda: ["systemctl", "poweroff"], min_length=1)
    display: str = Field(default_factory=lambda: os.environ.get("DISPLAY", ""))
    xauthority: str = Field(default_factory=lambda: os.environ.get("XAUTHORITY", ""))
    xset_command: str = Field("xset", min_length=1)
    backlight: str | None = Field(None, min_length=1, pattern=r"^[^/]+$")
    timeout_seconds: float = Field(10.0, gt=0, le=120)


class BlPower:
    """The backlights' ``bl_power`` files (plain file I/O; run through ``ctx.blocking``)."""

    def __init__(self, class_dir: Path, only: str | None):
        self.class_dir, self.only = class_dir, only

    def files(self) -> list[str]:
        try:
            entries = sorted(self.class_dir.iterdir())
        except OSError:
            return []
        return [str(entry / "bl_power") for entry in entries
                if (self.only is None or entry.name == self.only) and (entry / "bl_power").is_file()]

    def write(self, files: list[str], level: int) -> None:
        for file in files:
            Path(file).write_text(f"{level}\n", encoding="ascii")

    def read(self, files: list[str]) -> list[int]:
        return [int(Path(file).read_text(encoding="ascii").strip()) for file in files]


class LinuxControl:
    name = "linux.control"

    def __init__(self, runner, settings: Settings, backlights):
        self.runner, self.settings, self.backlights = runner, settings, backlights

    def probe(self) -> bool:
        return True  # reboot and shutdown are always offered; their commands' failures are reported

    # -- machine power -------------------------------------------------------------------------------
    def reboot(self) -> None:
        self._command(self.settings.reboot_command, "reboot")

    def shutdown(self) -> None:
        self._command(self.settings.shutdown_command, "shutdown")

    def _command(self, argv: list[str], what: str) -> None:
        try:
            result = self.runner.run(argv, timeout=self.settings.timeout_seconds)
        except CommandFailed as exc:
            raise DriverError(f"{what}: {exc}") from None
        if not result.ok:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise DriverError(f"{what}: {argv[0]} exited {result.returncode}"
                              + (f": {detail[-1][:200]}" if detail else ""))

    # -- display power -------------------------------------------------------------------------------
    def display_supported(self) -> bool:
        return self._dpms() is not None or bool(self.backlights.files())

    def set_display(self, on: bool) -> None:
        if self._dpms() is not None:
            self._xset("dpms", "force", "on" if on else "off")
            if self._dpms() != ("On" if on else "Off"):
                raise DriverError(f"the X server's DPMS did not turn the monitor {'on' if on else 'off'}")
            return
        files = self.backlights.files()
        if not files:
            raise DriverError("no DPMS on the X display and no backlight with bl_power")
        level = BL_ON if on else BL_OFF
        self.backlights.write(files, level)
        if any(value != level for value in self.backlights.read(files)):
            raise DriverError("the backlight did not take the new bl_power")

    def _dpms(self) -> str | None:
        """The X monitor's DPMS state as ``xset q`` says it — "On", "Off", "Standby", "Suspend", or
        "Disabled" (DPMS switched off: ``force`` enables it) — or None: no X display, no DPMS extension,
        or a display not capable of DPMS. xset prints "Monitor is ..." only while DPMS is enabled."""
        if not self.settings.display:
            return None
        try:
            result = self._xset("q")
        except DriverError as exc:
            log.debug("no DPMS: %s", exc)
            return None
        if NO_DPMS in result:
            return None
        state = None
        for line in result.splitlines():
            words = line.split()
            if words[:3] == ["DPMS", "is", "Disabled"]:
                state = "Disabled"
            elif words[:2] == ["Monitor", "is"] and len(words) >= 3:
                return words[-1]  # "Monitor is On", "Monitor is in Standby"
        return state

    def _xset(self, *args: str) -> str:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DISPLAY": self.settings.display}
        if self.settings.xauthority:
            env["XAUTHORITY"] = self.settings.xauthority
        try:
            result = self.runner.run([self.settings.xset_command, *args], timeout=self.settings.timeout_seconds,
                                     env=env)
        except CommandFailed as exc:
            raise DriverError(str(exc)) from None
        if not result.ok:
            raise DriverError(f"xset {' '.join(args)} exited {result.returncode}")
        return result.stdout


def create_driver(ctx, settings: Settings):
    backlights = BlPower(ctx.paths.sysfs("class", "backlight"), settings.backlight)
    return LinuxControl(ctx.runner, settings, ctx.blocking(backlights))
