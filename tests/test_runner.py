"""The command runner: real commands, timeouts, missing programs."""
from __future__ import annotations

import pytest

from portald.runner import CommandFailed, CommandRunner


def test_runs_a_real_command_without_a_shell():
    result = CommandRunner().run(["echo", "a; rm -rf /"])
    assert result.ok and result.stdout == "a; rm -rf /\n"


def test_nonzero_exit_is_a_result_not_an_exception():
    result = CommandRunner().run(["sh", "-c", "echo oops >&2; exit 3"])
    assert result.returncode == 3 and result.stderr == "oops\n" and not result.ok


def test_timeout_kills_the_command():
    with pytest.raises(CommandFailed, match="timed out"):
        CommandRunner().run(["sleep", "5"], timeout=0.2)


def test_missing_program_is_reported():
    with pytest.raises(CommandFailed, match="cannot run"):
        CommandRunner().run(["/nonexistent/portald-test-binary"])
