"""Service names as the API shows them and systemd unit names as the driver sends them.

A name from the URL is checked against systemd's own unit-name grammar (``unit_name_is_valid()`` in
systemd's ``src/basic/unit-name.c``) before it goes anywhere near the bus, so nothing but a plain
unit name can reach systemd: characters ``[A-Za-z0-9:_.@\\-]`` and the backslash of systemd's
``\\xNN`` escapes (real units such as ``systemd-fsck@dev-disk-by\\x2duuid-….service`` carry it), at most
255 characters with the suffix, a non-empty name before the ``@`` of a template instance and a
non-empty instance after it.

Like ``systemctl``, a name without a unit-type suffix means the ``.service`` unit of that name (so
``ssh`` is ``ssh.service`` and ``org.cups.cupsd`` is ``org.cups.cupsd.service``). A name with another
unit type's suffix (``poweroff.target``, ``dev-sda.device``) is refused: this is the *service* API, its
list shows only services, and starting ``poweroff.target`` through it would be a side door.
"""
from __future__ import annotations

import re

UNIT_NAME_MAX = 255
SERVICE_SUFFIX = ".service"
UNIT_TYPES = frozenset({"service", "socket", "target", "device", "mount", "automount", "swap", "timer",
                        "path", "slice", "scope"})
RESERVED = frozenset({"list"})  # path segments of the API itself
_VALID = re.compile(r"[A-Za-z0-9:_.@\\-]+")


class InvalidName(ValueError):
    """Not a service name systemd would accept; the message says why."""


def service_unit(name: str) -> str:
    """The systemd unit for an API service name: ``ssh`` → ``ssh.service``. Raises InvalidName."""
    if not _VALID.fullmatch(name):
        raise InvalidName("a service name may only hold letters, digits and : _ . @ - \\")
    stem, dot, suffix = name.rpartition(".")
    if dot and suffix in UNIT_TYPES:
        if suffix != "service":
            raise InvalidName(f"{name} is a {suffix} unit, not a service")
        unit = name
    else:
        unit = name + SERVICE_SUFFIX
    if len(unit) > UNIT_NAME_MAX:
        raise InvalidName(f"a unit name is at most {UNIT_NAME_MAX} characters")
    prefix, at, instance = unit[: -len(SERVICE_SUFFIX)].partition("@")
    if not prefix:
        raise InvalidName("a service name needs a name before its suffix or '@'")
    if at and not instance:
        raise InvalidName(f"{unit} is a template: name an instance, e.g. {prefix}@1.service")
    return unit


def service_name(unit: str) -> str:
    """The API name of a service unit: ``ssh.service`` → ``ssh``, unless the bare name would not lead
    back to the same unit (``foo.target.service``, ``list.service``: ``/service/list`` is the list)."""
    bare = unit[: -len(SERVICE_SUFFIX)] if unit.endswith(SERVICE_SUFFIX) else ""
    try:
        if bare and bare not in RESERVED and service_unit(bare) == unit:
            return bare
    except InvalidName:
        pass
    return unit
