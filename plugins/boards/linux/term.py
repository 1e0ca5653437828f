"""The Linux board's terminal driver (capability ``term``): a login shell of an OS account on a real
pseudo-terminal.

Starting a shell: ``os.forkpty()`` in the calling greenlet (gevent's version under the daemon's
``patch_all``: the child is watched and reaped by the event loop; never from a threadpool thread). The
child is the leader of a new session with the PTY as its controlling terminal (``forkpty`` does
``setsid`` and ``TIOCSCTTY``); it then sets the window size, restores the default signal dispositions
and mask (Python ignores SIGPIPE, which an exec'd shell would inherit), closes every other descriptor,
takes the account's groups, gid and uid (groups are looked up in the parent: NSS is not safe in a forked
child), changes to the home directory (``/`` when it is missing, as ``login`` does) and executes the
account's shell as a login shell (``argv[0]`` is ``-bash``) with a fresh environment: ``HOME``, ``USER``,
``LOGNAME``, ``SHELL``, ``TERM=xterm-256color``, ``PATH`` (``[plugins.linux.term]`` ``path``/``root_path``),
``LANG`` from the daemon's own when set. An account whose shell is ``nologin``/``false`` gets what that
program prints, as at a console.

The sim board has no terminal driver: a terminal is not hardware and ``--sim`` runs on a real machine,
so this driver serves under ``--sim`` too, unchanged (an OS account gets its own shell; the admin
account only the shell of ``admin_shell_user``, never root by default). The daemon must run as root to
start a shell for another account; run as an ordinary user (development) it can only start its own
user's shell, and says so otherwise.

Output is read from the non-blocking PTY master cooperatively, in pieces of up to ``size`` bytes (what is
there is taken at once: one WebSocket message per read, not per kernel chunk). Closing hangs up: SIGHUP
to the shell's process group and every process of its session (found in ``/proc/<pid>/stat``), SIGKILL
to whatever of the session is left after ``hangup_grace_seconds``, the shell reaped, the master closed.
The session's members are looked up under the configured ``procfs_root``: with a fixture tree there
(tests of other areas) only the shell's process group is reached. A program that leaves the session on
purpose (``setsid``, a daemon that double-forks) is not part of it and survives, as after an SSH logout.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import pwd
import signal
import struct
import termios
import time
from pathlib import Path

import gevent
from gevent.socket import wait_read, wait_write
from pydantic import Field

from portald.drivers import DriverError, NotFound
from portald.settings import Settings as _Settings

log = logging.getLogger(__name__)

CAPABILITY = "term"
USER_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"  # login.defs ENV_PATH
ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # login.defs ENV_SUPATH
TERM = "xterm-256color"
_EXEC_FAILED = 127


class Settings(_Settings):
    path: str = Field(USER_PATH, min_length=1)
    root_path: str = Field(ROOT_PATH, min_length=1)
    hangup_grace_seconds: float = Field(2.0, ge=0, le=60)


def _winsize(columns: int, rows: int) -> bytes:
    return struct.pack("HHHH", rows, columns, 0, 0)


class PtySession:
    def __init__(self, pid: int, master: int, procfs: Path, grace: float):
        self.pid, self._master, self._procfs, self._grace = pid, master, procfs, grace
        self._closed = False

    def read(self, size: int) -> bytes:
        chunks, total = [], 0
        while total < size:
            try:
                chunk = os.read(self._master, size - total)
            except BlockingIOError:
                if chunks:
                    break
                wait_read(self._master)
                continue
            except OSError as exc:  # EIO: the last process holding the terminal has closed it
                if exc.errno in (errno.EIO, errno.EBADF):
                    break
                raise
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._master, view):]
            except BlockingIOError:
                wait_write(self._master)

    def resize(self, columns: int, rows: int) -> None:
        fcntl.ioctl(self._master, termios.TIOCSWINSZ, _winsize(columns, rows))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._signal_session(signal.SIGHUP)
            deadline = time.monotonic() + self._grace
            while time.monotonic() < deadline and (not self._reaped() or self._members()):
                gevent.sleep(0.02)
            if self._signal_session(signal.SIGKILL):
                log.info("terminal session %d: killed what was left %.1f s after the hang-up", self.pid, self._grace)
            deadline = time.monotonic() + 2
            while not self._reaped() and time.monotonic() < deadline:
                gevent.sleep(0.02)
        finally:
            os.close(self._master)

    # -- the session's processes ---------------------------------------------------------------------
    def _reaped(self) -> bool:
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return True
        return pid == self.pid

    def _members(self) -> list[int]:
        """Processes of the shell's session (other than the shell itself) that are still alive."""
        found = []
        for entry in os.scandir(self._procfs):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_bytes()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2:].split()
            # fields[0] is the state, [3] the session id
            if len(fields) > 3 and int(fields[3]) == self.pid and fields[0] != b"Z":
                found.append(int(entry.name))
        return found

    def _signal_session(self, signum: int) -> bool:
        """Send ``signum`` to the shell's process group and to every process of its session; True when
        any was still there."""
        hit = False
        targets = [(os.killpg, self.pid)] + [(os.kill, pid) for pid in self._members()]
        for send, target in targets:
            try:
                send(target, signum)
                hit = True
            except ProcessLookupError:
                pass
            except PermissionError:  # a setuid program of the session running as someone else
                log.info("terminal session %d: no permission to signal %d", self.pid, target)
        return hit


class PtyTermDriver:
    name = "linux.term"
    os = "linux"

    def __init__(self, settings: Settings, procfs: Path):
        self.settings, self.procfs = settings, procfs

    def probe(self) -> bool:
        # forkpty opens the kernel's PTY multiplexer itself (not one under the configured dev root):
        # a terminal is no hardware of the described machine, it is there wherever the daemon runs
        return hasattr(os, "forkpty")

    def open(self, user: str, columns: int, rows: int) -> PtySession:
        try:
            account = pwd.getpwnam(user)
        except KeyError:
            raise NotFound(f"there is no OS account {user!r} on this machine") from None
        if os.geteuid() != 0 and account.pw_uid != os.geteuid():
            raise DriverError(f"the daemon does not run as root and cannot start a shell for {user!r}")
        shell = account.pw_shell or "/bin/sh"
        if not os.access(shell, os.X_OK):
            raise DriverError(f"the login shell of {user!r} ({shell}) cannot be run")
        groups = os.getgrouplist(account.pw_name, account.pw_gid)
        home = account.pw_dir if account.pw_dir and os.path.isdir(account.pw_dir) else "/"
        env = {"HOME": account.pw_dir or "/", "USER": account.pw_name, "LOGNAME": account.pw_name,
               "SHELL": shell, "TERM": TERM,
               "PATH": self.settings.root_path if account.pw_uid == 0 else self.settings.path}
        for name in ("LANG", "LC_ALL", "TZ"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        argv = ["-" + os.path.basename(shell)]
        switch = os.geteuid() == 0
        size = _winsize(columns, rows)
        pid, master = os.forkpty()
        if pid == 0:  # the child: system calls only, then exec; never back into the daemon's code
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, size)
                for signum in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGCHLD,
                               signal.SIGHUP, signal.SIGQUIT):
                    signal.signal(signum, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, [])
                os.closerange(3, 1 << 20)
                if switch:
                    os.setgroups(groups)
                    os.setgid(account.pw_gid)
                    os.setuid(account.pw_uid)
                os.chdir(home)
                os.execve(shell, argv, env)
            except BaseException:
                pass
            os.write(2, b"portald: the shell could not be started\r\n")
            os._exit(_EXEC_FAILED)
        os.set_blocking(master, False)
        log.info("terminal: started %s's shell %s (pid %d)", account.pw_name, shell, pid)
        return PtySession(pid, master, self.procfs, self.settings.hangup_grace_seconds)


def create_driver(ctx, settings: Settings):
    return PtyTermDriver(settings, ctx.paths.procfs())
