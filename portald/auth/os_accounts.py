"""OS accounts (login with ``m=0``): password and account checks through PAM, roles from uid and groups.

PAM is a blocking C library and a failed check deliberately sleeps (~2 s, pam_faildelay), so callers run
``preload`` once and then ``authenticate`` in gevent's threadpool. python-pam is imported with the
first OS-account login (~15 ms and ~0.5 MB that a daemon without such logins never pays). The PAM
service name is configurable (``auth.pam_service``, default ``portald``: ``/etc/pam.d/portald`` includes
common-auth and common-account, so expired or locked accounts are refused as at a console login).
"""
from __future__ import annotations

import grp
import logging
import pwd

log = logging.getLogger("portald.auth")


def preload() -> None:
    """Find and load libpam; cheap once done. Call it from the threadpool: python-pam runs ``ldconfig``
    (``ctypes.util.find_library``) with the unpatched stdlib subprocess, which works from a
    threadpool thread but, run from a greenlet, hung the whole daemon."""
    import pam

    pam.PamAuthenticator()


def authenticate(service: str, username: str, password: str) -> bool:
    if not username or "\x00" in username or "\x00" in password:
        return False
    import pam

    handle = pam.PamAuthenticator()
    ok = handle.authenticate(username, password, service=service, call_end=True)
    if not ok:
        log.debug("PAM refused %r: %s (%s)", username, handle.reason, handle.code)
    return bool(ok)


def current_role(username: str, admin_groups: list[str]) -> str | None:
    """The account's role now, or None when the account no longer exists."""
    try:
        pwd.getpwnam(username)
    except KeyError:
        return None
    return role_of(username, admin_groups)


def role_of(username: str, admin_groups: list[str]) -> str:
    """``admin`` for uid 0 and members (primary or supplementary) of the configured admin groups."""
    try:
        entry = pwd.getpwnam(username)
    except KeyError:
        return "user"
    if entry.pw_uid == 0:
        return "admin"
    for name in admin_groups:
        try:
            group = grp.getgrnam(name)
        except KeyError:
            continue
        if entry.pw_gid == group.gr_gid or username in group.gr_mem:
            return "admin"
    return "user"
