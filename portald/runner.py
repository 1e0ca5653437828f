"""The one way portald runs external commands.

Plugins never call ``subprocess`` themselves: they ask ``ctx.runner``, which runs through
``gevent.subprocess`` (so a slow command never blocks other requests), applies a timeout, never uses a
shell, and logs what ran and how it ended. Tests swap commands for harmless ones through config.
"""
from __future__ import annotations

import logging
import shlex
import signal
from dataclasses import dataclass

from gevent import subprocess

log = logging.getLogger("portald.runner")


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class CommandFailed(Exception):
    """The command could not be started or did not finish in time."""


class CommandRunner:
    def __init__(self, default_timeout: float = 30.0):
        self.default_timeout = default_timeout

    def run(self, argv: list[str] | tuple[str, ...], timeout: float | None = None,
            input_text: str | None = None, env: dict | None = None) -> CommandResult:
        argv = tuple(str(a) for a in argv)
        limit = self.default_timeout if timeout is None else timeout
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        except OSError as exc:
            log.warning("cannot run %s: %s", shlex.join(argv), exc.strerror)
            raise CommandFailed(f"cannot run {argv[0]}: {exc.strerror}") from exc
        try:
            out, err = proc.communicate(input_text, timeout=limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            log.warning("%s timed out after %.1f s", shlex.join(argv), limit)
            raise CommandFailed(f"{argv[0]} timed out after {limit:g} s") from None
        level = logging.DEBUG if proc.returncode == 0 else logging.INFO
        log.log(level, "%s exited %d", shlex.join(argv), proc.returncode)
        return CommandResult(argv, proc.returncode, out, err)


def stop_child(proc, grace: float, logger: logging.Logger = log) -> None:
    """Stop a child server that a driver started (a ``Popen``): SIGTERM, SIGKILL when it is still
    there after ``grace`` seconds, and reap it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    proc.send_signal(signal.SIGCONT)  # a stopped (SIGSTOP, traced) child handles its SIGTERM now
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        logger.warning("%s (pid %d) ignored SIGTERM for %g s; killing it", proc.args[0], proc.pid, grace)
        proc.kill()
        proc.wait()
