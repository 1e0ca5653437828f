"""Every fixture machine answers the API as its ``expected/`` files say (node_exporter's end-to-end way).

For each tree in ``tests/fixtures/machines/`` and ``tests/fixtures/cases/``: build the app on the Linux
board (``board = "auto"``) with the roots and settings of the tree's ``machine.toml``, log in as admin,
GET every data endpoint the app serves, and compare the answers with ``expected/<name>.json`` (``name``:
the path below the service's ``api/`` with ``/`` as ``.``; ``/edgehub/api/profile`` is ``profile.json``).
An endpoint without a file must answer "not supported" (404, or the spec's 204) on that machine.

``machine.toml`` holds config keys (``sysfs_root``, ``procfs_root``, ``dev_root`` always, so that nothing
falls back to this machine's ``/sys``, ``/proc`` or ``/dev``; ``[plugins.*]`` tables as needed), on top of
``EVERY_TREE``: the settings that make what lies outside the roots (``/etc/machine-id``, os-release,
the docker client, the X display, the D-Bus system bus, the hwdata databases) the tree's too. In these strings, ``{tree}`` is
the tree's folder, ``{copy}`` a copy of it in tmp_path (for what drivers write to: device nodes, an
EEPROM), ``{empty}`` an empty folder, ``{fixtures}`` tests/fixtures and ``{python}`` this interpreter.

What comes from the machine running the tests rather than from the tree is listed in
``MACHINE_DEPENDENT`` with the reason, and left out of the comparison.

``PORTALD_UPDATE_EXPECTED=1`` rewrites the files from the app's answers (listed values keep what the file
had, e.g. the disk usage recorded on the real machine). Read the diff before committing it: these files
say what each machine shows.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
import tomllib
from pathlib import Path

import gevent
import pytest

from conftest import FIXTURES, admin_token, bearer

TREES = sorted(p.parent for kind in ("machines", "cases") for p in (FIXTURES / kind).glob("*/machine.toml"))
UPDATE = os.environ.get("PORTALD_UPDATE_EXPECTED") == "1"
NOT_SUPPORTED = (404, 204)

# host files outside the roots come from the tree (a file the tree lacks: the machine has none)
EVERY_TREE = {"plugins": {"linux": {
    "host": {"machine_id_file": "{tree}/etc/machine-id", "image_version_file": "{tree}/etc/image-version",
             "docker_command": "{tree}/usr/bin/docker"},
    "system": {"os_release_files": ["{tree}/etc/os-release"]},
    "display": {"display": ""},  # no tree holds an X server
    "services": {"bus_address": "unix:path={tree}/run/dbus/system_bus_socket"},  # nor a systemd
    # nor a NetworkManager; and netlink describes the running kernel, so with sysfs_root on a tree the
    # netlink driver is absent: a tree's machine has no adapters here (tests/test_networking_* cover them)
    "networking": {"bus_address": "unix:path={tree}/run/dbus/system_bus_socket"},
    "wifi": {"bus_address": "unix:path={tree}/run/dbus/system_bus_socket"},
    "devmgr": {"ids_dir": "{fixtures}/hwdata"},
    # nor a Mosquitto (the EdgeBus broker): its status would depend on this machine's packages
    "edgebus": {"executable": "{tree}/usr/sbin/mosquitto"},
}}}

# GET routes that are no machine's data: versions, tokens, the SSE multiplexer, the pending network
# change, and the daemon's own plugin listing (which plugins and capabilities this build has; the profile says what the machine has)
API_PREFIXES = ("/auth/", "/platform/api/", "/api/", "/edgehub/api/")
NOT_DATA = {
    "/auth/version", "/auth/token", "/auth/certificate", "/platform/api/events", "/platform/api/plugins",
    "/platform/api/networking/changes",  # the daemon's own pending change, not the machine's
    "/edgehub/api/connection",  # the daemon's own cloud link and outbox, not the machine's
    *(f"{prefix}/{name}" for prefix in ("/auth", "/platform/api", "/api", "/edgehub/api")
      for name in ("ping", "agentinfo")),
    "/api/irtm/ping",
    "/platform/api/term/ws",  # a terminal on the machine the daemon runs on, not the tree's
}

# path -> {value path (dotted, "*" = every key or item; "" = the whole answer): why it is not the tree's}
UNAME = ("uname(2) of the kernel running the tests: the driver reads <procfs_root>/sys/kernel/arch, which no "
         "tree records, and falls back to it")
MACHINE_DEPENDENT: dict[str, dict[str, str]] = {
    "/platform/api/host/info": {"kernelArch": UNAME},
    "/edgehub/api/profile": {"os:arch": UNAME,
                             "os:description": "without an os-release file (no tree records one) the profile says "
                                               "Linux <release>, and no tree records sys/kernel/osrelease either: "
                                               "the release of the kernel running the tests"},
    "/platform/api/perif/disk": {
        f"*.partitions.*.{key}": "statvfs cannot be pointed at a fixture: usage is measured on this machine's "
                                 "filesystem under the rootfs setting (the files keep the numbers recorded "
                                 "on the real machine, which tests/test_disk_linux.py checks)"
        for key in ("sizeBytes", "freeBytes", "usedBytes", "usedPercent")},
}
MACHINE_DEPENDENT["/platform/api/perif/disk/partition"] = {
    key.removeprefix("*.partitions."): reason for key, reason in MACHINE_DEPENDENT["/platform/api/perif/disk"].items()}


def _ids(listing: str, key: str | None):
    def ids(client, headers):
        response = client.get(listing, headers=headers)
        if response.status_code != 200:
            return []
        return [item[key] if key else index for index, item in enumerate(response.get_json())]
    return ids


# routes with a parameter: where its values come from, or why the route is not checked
PARAMETERS = {
    "/platform/api/perif/led/<raw_id>": _ids("/platform/api/perif/led", None),
    "/platform/api/perif/gpio/<raw_id>": _ids("/platform/api/perif/gpio/all", "pin"),
    "/platform/api/perif/gpio/<raw_id>/dir": _ids("/platform/api/perif/gpio/all", "pin"),
    "/platform/api/perif/gpio/<raw_id>/level": _ids("/platform/api/perif/gpio/all", "pin"),
    "/platform/api/service/<name>": "services come from systemd over D-Bus, which no tree holds",
    "/platform/api/networking/wifi/networks/<path:uuid>": _ids("/platform/api/networking/wifi/interfaces", "uuid"),
    "/platform/api/host/screenshot/<raw_index>": "screenshots come from an X server, which no tree holds",
    "/platform/api/host/screenshot/<raw_index>/file": "screenshots come from an X server, which no tree holds",
    "/platform/api/rdesk/<session_id>": "a WebSocket whose ids come from POST /platform/api/rdesk/config",
}

_GONE = object()


def file_name(path: str) -> str:
    below = path.split("/api/", 1)[1]
    return below.replace("/", ".") + ".json"


def _substitute(value, names: dict[str, str]):
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, list):
        return [_substitute(item, names) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, names) for key, item in value.items()}
    return value


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def machine_config(tree: Path, tmp_path: Path) -> dict:
    config = tomllib.loads((tree / "machine.toml").read_text())
    missing = {"sysfs_root", "procfs_root", "dev_root"} - set(config)
    assert not missing, f"{tree.name}/machine.toml must set {sorted(missing)} (else this machine's own are read)"
    names = {"tree": str(tree), "copy": str(tmp_path / "copy"), "empty": str(tmp_path / "empty"),
             "fixtures": str(FIXTURES), "python": sys.executable}
    (tmp_path / "empty").mkdir()
    if "{copy}" in (tree / "machine.toml").read_text():
        shutil.copytree(tree, tmp_path / "copy", symlinks=True)
    return _substitute(_merge(EVERY_TREE, config), names)


def _paths(route: str, client, headers) -> list[str]:
    source = PARAMETERS.get(route)
    if source is None:
        assert "<" not in route, f"{route}: say in PARAMETERS where its values come from, or why it is not checked"
        return [route]
    if isinstance(source, str):
        return []
    name = route[route.index("<"):route.index(">") + 1]
    return [route.replace(name, str(value)) for value in source(client, headers)]


def data_routes(app) -> list[str]:
    routes = {rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    # the machine's data is under the services' prefixes; the front page, the web UI's assets, the docs,
    # the OpenAPI document and /metrics (text, checked by tests/test_metrics.py) are the daemon's own
    return sorted(route for route in routes if route not in NOT_DATA and route.startswith(API_PREFIXES))


def _split(pattern: str) -> list[str]:
    return pattern.split(".") if pattern else []


def _carry(new, old, path: list[str]):
    """``new`` with the values at ``path`` taken from ``old`` where it has them, else left out."""
    head, rest = path[0], path[1:]
    if isinstance(new, dict):
        out = dict(new)
        for key in (list(new) if head == "*" else [head] if head in new else []):
            before = old.get(key, _GONE) if isinstance(old, dict) else _GONE
            if rest:
                out[key] = _carry(new[key], None if before is _GONE else before, rest)
            elif before is _GONE:
                del out[key]
            else:
                out[key] = before
        return out
    if isinstance(new, list) and head == "*" and rest:
        return [_carry(item, old[i] if isinstance(old, list) and i < len(old) else None, rest)
                for i, item in enumerate(new)]
    return new


def comparable(path: str, data):
    """The answer without the values this machine decides."""
    for pattern in MACHINE_DEPENDENT.get(path, {}):
        data = _carry(data, None, _split(pattern))
    return data


def _same(path: str, actual, expected) -> bool:
    # dumps() tells 1 from 1.0 and true, and keeps the key order: both are part of the answer
    return json.dumps(comparable(path, actual)) == json.dumps(comparable(path, expected))


def _get(client, headers, path):
    response = client.get(path, headers=headers)
    body = response.get_json(silent=True) if response.status_code == 200 else None
    return response.status_code, body


@pytest.mark.parametrize("tree", TREES, ids=[f"{t.parent.name}/{t.name}" for t in TREES])
def test_machine_answers_as_expected(make_app, tmp_path, tree):
    app = make_app(board="auto", **machine_config(tree, tmp_path))
    client = app.test_client()
    headers = bearer(admin_token(client))
    expected_dir = tree / "expected"
    paths = [path for route in data_routes(app) for path in _paths(route, client, headers)
             if "" not in MACHINE_DEPENDENT.get(path, {})]
    if UPDATE:  # samplers and S.M.A.R.T. start with the first request and fill in after it
        for path in paths:
            client.get(path, headers=headers)
        gevent.sleep(2)
    deadline = time.monotonic() + 10
    problems, seen = [], set()
    for path in paths:
        target = expected_dir / file_name(path)
        expected = json.loads(target.read_text()) if target.exists() else None
        status, body = _get(client, headers, path)
        # data that samplers fill in after the first answer (S.M.A.R.T.) may need a moment
        while not UPDATE and status == 200 and expected is not None and not _same(path, body, expected) \
                and time.monotonic() < deadline:
            gevent.sleep(0.1)
            status, body = _get(client, headers, path)
        if status in NOT_SUPPORTED:
            if UPDATE and target.exists():
                target.unlink()
            elif target.exists():
                problems.append(f"{path}: {status}, but {target.name} expects data")
            continue
        if status != 200 or body is None:
            problems.append(f"{path}: {status} {client.get(path, headers=headers).get_data(as_text=True)[:300]}")
            continue
        seen.add(target.name)
        if UPDATE:
            for pattern in MACHINE_DEPENDENT.get(path, {}):
                body = _carry(body, expected, _split(pattern))
            expected_dir.mkdir(exist_ok=True)
            target.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
        elif expected is None:
            problems.append(f"{path}: answers data, but there is no expected/{target.name}:\n"
                            f"{json.dumps(body, indent=2)[:1500]}")
        elif not _same(path, body, expected):
            problems.append(f"{path} differs from expected/{target.name}:\n"
                            f"answer:   {json.dumps(comparable(path, body))[:3000]}\n"
                            f"expected: {json.dumps(comparable(path, expected))[:3000]}")
    stale = sorted(p.name for p in expected_dir.glob("*.json") if p.name not in seen) if expected_dir.is_dir() else []
    if UPDATE:
        for name in stale:
            (expected_dir / name).unlink()
    else:
        problems += [f"expected/{name} matches no endpoint that answers data" for name in stale]
    assert not problems, "\n".join(problems)


def test_every_tree_has_a_machine_toml():
    trees = [p for kind in ("machines", "cases") for p in (FIXTURES / kind).iterdir() if p.is_dir()]
    assert sorted(trees) == TREES
