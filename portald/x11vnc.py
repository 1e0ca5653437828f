"""x11vnc, Debian's VNC server for an X display, run as the daemon's child: what every board's
``rdesk`` driver that shows an X desktop uses (the generic Linux board on the machine's display, the
sim board on its own Xvfb). It lives in the core because boards never import each other.

x11vnc is started through ``gevent.subprocess`` (a long-running server, so not through ``ctx.runner``,
which runs commands to completion; and never from a pool thread): bound to loopback (``-localhost``)
on a port picked free just before, VNC authentication with the password the capability chose,
``-forever -shared`` (sessions share one server, which does not exit when a client leaves: the
capability stops it when its last session ends), and no ``-bg`` (it stays the daemon's child and is
reaped). The password reaches it through a file in a private temporary folder (0700, the file 0600)
named as ``-passwdfile rm:<file>``: x11vnc deletes the file as soon as it has read it, and the folder
goes right after the start whatever happened; the password never appears on a command line. The start
waits (bounded) for the ``PORT=<n>`` line x11vnc prints once it listens, and checks that x11vnc
itself listens on 127.0.0.1:<n> (x11vnc says ``PORT=<n>`` even when another process took that port
first: the relay would then talk to that process; another port is tried). x11vnc's output is read to
its end (a full pipe would stall it); the last lines, and the ones saying why it failed (its 40-line
help text follows them), explain a failed start to the client and the log.

A daemon killed by SIGKILL leaves its x11vnc running (a stop with SIGTERM stops it): it still asks
for the password, which only that daemon knew.
"""
from __future__ import annotations

import collections
import logging
import os
import shutil
import socket
import tempfile

import gevent
import psutil
from gevent import subprocess

from . import runner
from .drivers import DriverError

log = logging.getLogger("portald.x11vnc")

STOP_GRACE = 3.0  # seconds between SIGTERM and SIGKILL
PORT_ATTEMPTS = 3  # free ports tried when one is taken between the check and x11vnc's bind
_KEPT_LINES = 20  # of x11vnc's stderr, to explain a failed start
# what x11vnc's lines that say why it failed contain (a help text of 40 lines follows them)
_REASONS = ("XOpenDisplay", "Unable to open display", "failed", "ERROR", "No such file")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` itself listens on 127.0.0.1:``port`` (a few small /proc reads)."""
    try:
        found = psutil.Process(pid).net_connections(kind="tcp4")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.ip == "127.0.0.1" and c.laddr.port == port
               for c in found)


def _is_reason(line: str) -> bool:
    return any(word in line for word in _REASONS)


def _reason(lines: list[str]) -> str:
    """The line of x11vnc's output that says why it stopped."""
    for line in lines:
        if _is_reason(line):
            return line.strip()
    for line in reversed(lines):
        if line.strip() and not line.lstrip().startswith("*"):
            return line.strip()
    return "no output"


def stop_child(proc: subprocess.Popen) -> None:
    """SIGTERM, SIGKILL after ``STOP_GRACE`` seconds, and reap: a child server the driver started."""
    runner.stop_child(proc, STOP_GRACE, log)


class X11Vnc:
    """One x11vnc for one X display, with the methods of the ``rdesk`` driver Protocol (a board's
    driver is one of these, or a subclass): ``start(password) -> port``, ``running()``, ``stop()``,
    ``close()``; ``probe()`` is true when a display is named and the program is installed."""

    os = "linux"

    def __init__(self, display: str, program: str = "x11vnc", auth: str = "", options: list[str] | tuple = (),
                 start_timeout: float = 10.0, name: str = "x11vnc.rdesk"):
        self.name, self.display, self.program = name, display, program
        self.auth, self.options, self.start_timeout = auth, list(options), start_timeout
        self._proc: subprocess.Popen | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=_KEPT_LINES)
        self._reasons: collections.deque[str] = collections.deque(maxlen=3)
        self._drains: list[gevent.Greenlet] = []
        self.absent_reason = ""

    def probe(self) -> bool:
        if not self.display:
            self.absent_reason = "no X display configured"
        elif shutil.which(self.program) is None:
            self.absent_reason = f"no VNC server: {self.program} is not installed (Debian: apt install x11vnc)"
        else:
            self.absent_reason = ""
        return not self.absent_reason

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, password: str) -> int:
        if self.running():
            raise DriverError("the VNC server is running already")
        self._stop_vnc()  # reap one that died on its own
        program = shutil.which(self.program)
        if program is None:
            raise DriverError(f"no VNC server: {self.program} is not installed")
        if not self.display:
            raise DriverError("no X display configured")
        for _ in range(PORT_ATTEMPTS):
            port = self._start_once(program, password)
            if _listens(self._proc.pid, port):
                return port
            # the free port was taken between the check and x11vnc's bind: x11vnc then still says
            # PORT=<n> (and listens on ::1 only, or nowhere), while 127.0.0.1:<n> is someone else's
            log.warning("x11vnc does not listen on 127.0.0.1:%d (taken meanwhile?); trying another port", port)
            self._stop_vnc()
        raise DriverError("the VNC server found no free port on 127.0.0.1")

    def _start_once(self, program: str, password: str) -> int:
        folder = tempfile.mkdtemp(prefix="portald-rdesk-")  # 0700
        try:
            secret = os.path.join(folder, "passwd")
            fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(password + "\n")
            return self._launch(program, secret)
        finally:
            if os.path.exists(os.path.join(folder, "passwd")):
                log.warning("x11vnc did not remove its password file; removing it")
            shutil.rmtree(folder, ignore_errors=True)

    def _argv(self, program: str, secret: str) -> list[str]:
        argv = [program, "-display", self.display]
        if self.auth:
            argv += ["-auth", self.auth]
        return argv + ["-localhost", "-rfbport", str(_free_port()), "-passwdfile", f"rm:{secret}",
                       "-forever", "-shared", "-nolookup", *self.options]

    def _launch(self, program: str, secret: str) -> int:
        self._output.clear()
        self._reasons.clear()
        try:
            proc = subprocess.Popen(self._argv(program, secret), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True)
        except OSError as exc:
            raise DriverError(f"cannot start {self.program}: {exc.strerror}") from None
        self._proc = proc
        self._drains = [gevent.spawn(self._keep, proc.stderr)]
        port = 0
        try:
            with gevent.Timeout(self.start_timeout):
                for line in proc.stdout:
                    if line.startswith("PORT="):
                        port = int(line[5:].strip() or 0)
                        break
        except gevent.Timeout:
            log.warning("x11vnc on %s did not listen within %g s", self.display, self.start_timeout)
        except ValueError:
            port = 0
        if port <= 0:
            self._stop_vnc()
            reason = _reason([*self._reasons, *self._output])
            log.info("x11vnc on display %s did not start: %s", self.display, reason)
            raise DriverError(f"the VNC server could not serve display {self.display}: {reason}")
        self._drains.append(gevent.spawn(self._keep, proc.stdout))
        log.info("x11vnc (pid %d) serves display %s on 127.0.0.1:%d", proc.pid, self.display, port)
        return port

    def _keep(self, stream) -> None:
        """Read a pipe of x11vnc to its end (a full pipe would stall it), keeping the last lines."""
        try:
            for line in stream:
                self._output.append(line.rstrip("\n"))
                if _is_reason(line):
                    self._reasons.append(line.strip())
        except (OSError, ValueError):
            pass

    def stop(self) -> None:
        self._stop_vnc()

    def _stop_vnc(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            stop_child(proc)
            log.info("x11vnc (pid %d) on display %s stopped", proc.pid, self.display)
        else:
            log.info("x11vnc (pid %d) on display %s had exited (%s): %s", proc.pid, self.display,
                     proc.returncode, _reason([*self._reasons, *self._output]))
        gevent.joinall(self._drains, timeout=1)
        gevent.killall(self._drains)
        self._drains = []
        for stream in (proc.stdout, proc.stderr):
            try:
                stream.close()
            except OSError:
                pass

    def close(self) -> None:
        self.stop()
