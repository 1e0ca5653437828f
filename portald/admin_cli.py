"""``portald admin reset-password``: the way back in for an operator at the device whose admin
password is lost. Local and root only: it writes the state folder directly (no API, no network), so
whoever runs it already owns the machine.

It asks twice for a new password on the terminal (or reads one line from standard input with
``--password-stdin``, for scripts), or with ``--factory-default`` puts back the factory password, which
must then be changed at the next login. Either way every admin token issued before is revoked at
once, also in a running daemon (the account's file is read again when it changes).
"""
from __future__ import annotations

import getpass
import os
import sys

from .auth.admin_account import DEFAULT_PASSWORD, NEW_PASSWORD_MAX, NEW_PASSWORD_MIN, AdminAccount
from .state import StateStore


def _is_root() -> bool:
    geteuid = getattr(os, "geteuid", None)
    return geteuid is None or geteuid() == 0  # Windows: the service's ACLs decide


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("new admin password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _refusal(password: str) -> str | None:
    if password == DEFAULT_PASSWORD:
        return "the new password must not be the factory default (use --factory-default for that)"
    if not NEW_PASSWORD_MIN <= len(password) <= NEW_PASSWORD_MAX:  # as the API's PasswordBody
        return f"the password must be {NEW_PASSWORD_MIN} to {NEW_PASSWORD_MAX} characters long"
    return None


def reset_password(config, factory_default: bool, password_stdin: bool) -> int:
    if not _is_root():
        print("portald: admin reset-password must be run as root (it writes the state folder)", file=sys.stderr)
        return 1
    account = AdminAccount(StateStore(config.state_dir))
    if factory_default:
        account.reset()
        print(f"portald: admin password reset to the factory default in {config.state_dir}; "
              "it must be changed at the next login", file=sys.stderr)
        return 0
    try:
        password = _new_password(password_stdin)
    except (ValueError, EOFError, KeyboardInterrupt) as exc:
        print(f"portald: password not changed: {exc or 'interrupted'}", file=sys.stderr)
        return 1
    refusal = _refusal(password)
    if refusal:
        print(f"portald: password not changed: {refusal}", file=sys.stderr)
        return 1
    account.set_password(password)
    print(f"portald: admin password set in {config.state_dir}; earlier admin tokens are revoked", file=sys.stderr)
    return 0
