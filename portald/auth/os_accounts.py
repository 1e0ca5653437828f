"""OS accounts (login with ``m=0``): password and account checks through PAM, roles from uid and groups.

PAM is a blocking C library, so callers run ``preload`` once and then ``authenticate`` in gevent's
threadpool. A failed check would sleep there (~2 s, pam_unix's fail delay), holding a pool thread: the
application's own delay function (libpam's ``PAM_FAIL_DELAY`` item) takes that sleep instead, so
``authenticate`` returns at once and reports the delay PAM asked for; the caller waits it out in its
greenlet, where it holds no thread. python-pam is imported with the
first OS-account login (~15 ms and ~0.5 MB that a daemon without such logins never pays). The PAM
service name is configurable (``auth.pam_service``, default ``portald``: ``/etc/pam.d/portald`` includes
common-auth and common-account, so expired or locked accounts are refused as at a console login).
"""
from __future__ import annotations

import ctypes
import grp
import logging
import pwd

log = logging.getLogger("portald.auth")

PAM_FAIL_DELAY = 10  # pam_set_item item type (security/_pam_types.h)
# void (*delay_fn)(int retval, unsigned usec_delay, void *appdata_ptr)
_DelayFn = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p)


def preload() -> None:
    """Find and load libpam; cheap once done. Call it from the threadpool: python-pam runs ``ldconfig``
    (``ctypes.util.find_library``) with the unpatched stdlib subprocess, which works from a
    threadpool thread but, run from a greenlet, hung the whole daemon."""
    import pam

    pam.PamAuthenticator()


def authenticate(service: str, username: str, password: str) -> tuple[bool, float]:
    """(accepted, seconds of delay PAM asked for on failure). Never sleeps out that delay itself."""
    if not username or "\x00" in username or "\x00" in password:
        return False, 0.0
    import pam

    handle = pam.PamAuthenticator()
    asked = [0]

    def _delay(retval, usec, appdata):  # called by libpam instead of its own sleep
        asked[0] = max(asked[0], int(usec))

    delay_fn = _DelayFn(_delay)  # kept alive for the whole call
    real_authenticate = handle.pam_authenticate

    def authenticate_without_sleep(pamh, flags):
        # between pam_start and pam_authenticate: hand libpam our delay function
        handle.pam_set_item(pamh, PAM_FAIL_DELAY, ctypes.cast(delay_fn, ctypes.c_void_p))
        return real_authenticate(pamh, flags)

    handle.pam_authenticate = authenticate_without_sleep
    ok = handle.authenticate(username, password, service=service, call_end=True)
    if not ok:
        log.debug("PAM refused %r: %s (%s)", username, handle.reason, handle.code)
    return bool(ok), (0.0 if ok else asked[0] / 1e6)


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
