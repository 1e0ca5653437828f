"""Service names from the URL against systemd's unit-name grammar, and the names the list shows."""
from __future__ import annotations

import pytest

from portald_plugins.services.unit_names import InvalidName, service_name, service_unit


@pytest.mark.parametrize("name,unit", [
    ("ssh", "ssh.service"),
    ("ssh.service", "ssh.service"),
    ("org.cups.cupsd", "org.cups.cupsd.service"),  # dots without a unit type: still a bare name
    ("getty@tty1", "getty@tty1.service"),
    ("user@1000.service", "user@1000.service"),
    ("systemd-fsck@dev-disk-by\\x2duuid-0A1B", "systemd-fsck@dev-disk-by\\x2duuid-0A1B.service"),
    ("a:b_c-d", "a:b_c-d.service"),
    ("x" * 247, "x" * 247 + ".service"),  # 255 characters with the suffix: the longest systemd allows
])
def test_service_unit_accepts_systemd_names_and_adds_service_to_bare_ones(name, unit):
    assert service_unit(name) == unit


@pytest.mark.parametrize("name", [
    "", "ssh;reboot", "ssh reboot", "$(reboot)", "../ssh", "ssh/..", "ssh\n", "ssh\x00", "sshé", "*",
    "poweroff.target", "dev-sda.device", "tmp.mount",  # other unit types are not services
    "getty@", "getty@.service", "@tty1", "@.service", ".service",  # templates, empty names
    "x" * 248,  # 256 with the suffix
])
def test_service_unit_rejects_what_systemd_would_not_accept_as_a_service(name):
    with pytest.raises(InvalidName):
        service_unit(name)


@pytest.mark.parametrize("unit,name", [
    ("ssh.service", "ssh"),
    ("getty@tty1.service", "getty@tty1"),
    ("org.cups.cupsd.service", "org.cups.cupsd"),
    ("foo.target.service", "foo.target.service"),  # "foo.target" would name a target
    ("list.service", "list.service"),  # /service/list is the list itself
])
def test_service_name_drops_the_suffix_only_when_the_name_leads_back(unit, name):
    assert service_name(unit) == name
    assert service_unit(service_name(unit)) == unit
