"""The sim board's ``rdesk`` driver: a real x11vnc on a private Xvfb, so remote desktop works under
``--sim`` on any machine that has both (Debian: xvfb, x11vnc).

A desktop is no hardware the sim board could fake byte by byte, and a VNC client needs a real RFB
server, so the sim board runs the core's ``X11Vnc`` (``portald.x11vnc``, what the Linux board uses)
against its own virtual X server. The Xvfb is started with the VNC server and stopped with it (nothing runs while no session does); it
takes the first free display number (``-displayfd``: Xvfb picks it and says which) and never listens
on TCP, so it cannot collide with a real X server of the machine. The screen is ``screen``
(``[plugins.sim.rdesk]``, default ``1024x768x24``). Without Xvfb or x11vnc the driver is absent and
says which is missing.
"""
from __future__ import annotations

import logging
import os
import shutil

import gevent
import gevent.os
from gevent import subprocess
from pydantic import Field

from portald.drivers import DriverError
from portald.settings import Settings as _Settings
from portald.x11vnc import X11Vnc, stop_child


log = logging.getLogger("portald.boards.sim.rdesk")

CAPABILITY = "rdesk"
XVFB_START_SECONDS = 10.0


class Settings(_Settings):
    """``[plugins.sim.rdesk]``."""

    xvfb: str = Field("Xvfb", min_length=1)
    x11vnc: str = Field("x11vnc", min_length=1)
    screen: str = Field("1024x768x24", pattern=r"^\d{2,5}x\d{2,5}x(8|16|24|32)$")


class SimRdesk(X11Vnc):
    def __init__(self, settings: Settings):
        super().__init__("", settings.x11vnc, name="sim.rdesk")
        self.xvfb, self.screen = settings.xvfb, settings.screen
        self._xvfb: subprocess.Popen | None = None

    def probe(self) -> bool:
        missing = [program for program in (self.xvfb, self.program) if shutil.which(program) is None]
        self.absent_reason = f"not installed: {', '.join(missing)} (Debian: xvfb, x11vnc)" if missing else ""
        return not missing

    def start(self, password: str) -> int:
        self._stop_xvfb()
        self.display = self._start_xvfb()
        try:
            return super().start(password)
        except BaseException:
            self._stop_xvfb()
            raise

    def _start_xvfb(self) -> str:
        program = shutil.which(self.xvfb)
        if program is None:
            raise DriverError(f"no X server: {self.xvfb} is not installed")
        read_end, write_end = os.pipe()
        try:
            try:
                self._xvfb = subprocess.Popen(
                    [program, "-displayfd", str(write_end), "-screen", "0", self.screen, "-nolisten", "tcp"],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    pass_fds=(write_end,), start_new_session=True)
            except OSError as exc:
                raise DriverError(f"cannot start {self.xvfb}: {exc.strerror}") from None
            os.close(write_end)
            write_end = -1
            gevent.os.make_nonblocking(read_end)
            said = b""
            with gevent.Timeout(XVFB_START_SECONDS, False):
                while not said.endswith(b"\n"):
                    chunk = gevent.os.nb_read(read_end, 16)
                    if not chunk:
                        break
                    said += chunk
            if not said.strip().isdigit():
                self._stop_xvfb()
                raise DriverError(f"the virtual X server ({self.xvfb}) did not start")
            log.info("Xvfb (pid %d) serves display :%s", self._xvfb.pid, said.strip().decode())
            return f":{said.strip().decode()}"
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)

    def _stop_xvfb(self) -> None:
        proc, self._xvfb = self._xvfb, None
        if proc is not None:
            stop_child(proc)

    def running(self) -> bool:
        return super().running() and self._xvfb is not None and self._xvfb.poll() is None

    def stop(self) -> None:
        super().stop()
        self._stop_xvfb()


def create_driver(ctx, settings: Settings):
    return SimRdesk(settings)
