"""Every hook is documented, every built-in plugin is packaged and registered, no plugin imports
another, no hardware path is written as a literal in a plugin, and no host path in a capability plugin
(board plugins own the host; their defaults live in ``plugins/boards/linux/host_paths.py``)."""
from __future__ import annotations

import configparser
import inspect
import re
from pathlib import Path

import pluggy

from portald import hookspecs

ROOT = Path(__file__).parent.parent
# capability plugins (plugins/<name>) and board plugins (plugins/boards/<name>), by plugin name
CAPABILITY_DIRS = {p.parent.name: p.parent for p in (ROOT / "plugins").glob("*/__init__.py") if p.parent.name != "boards"}
BOARD_DIRS = {p.parent.name: p.parent for p in (ROOT / "plugins" / "boards").glob("*/__init__.py")}
PLUGIN_DIRS = {**CAPABILITY_DIRS, **BOARD_DIRS}


def _package(folder: Path) -> str:
    return "portald_plugins." + ".".join(folder.relative_to(ROOT / "plugins").parts)


def _hooks():
    return [(name, fn) for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
            if name.startswith("portald_")]


def test_every_hookspec_is_documented_and_takes_ctx():
    assert len(_hooks()) >= 6
    for name, fn in _hooks():
        assert fn.__doc__ and len(fn.__doc__.strip()) > 20, name
        assert list(inspect.signature(fn).parameters) == ["ctx"], name
        assert getattr(fn, "portald_spec", None) is not None, name


def test_hookspecs_register_cleanly():
    pm = pluggy.PluginManager("portald")
    pm.add_hookspecs(hookspecs)
    assert {h for h in dir(pm.hook) if h.startswith("portald_")} == {n for n, _ in _hooks()}


def test_every_builtin_plugin_is_packaged_and_an_entry_point():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    packages = cfg["options"]["packages"].split()
    entry_points = {line.split("=")[0].strip(): line.split("=")[1].strip()
                    for line in cfg["options.entry_points"]["portald.plugins"].strip().splitlines()}
    assert "portald_plugins.boards" in packages
    for name, folder in PLUGIN_DIRS.items():
        assert _package(folder) in packages, name
        assert entry_points.get(name) == _package(folder), name


def test_plugins_never_import_each_other():
    for name, folder in PLUGIN_DIRS.items():
        for file in folder.rglob("*.py"):
            text = file.read_text()
            for other, other_folder in PLUGIN_DIRS.items():
                if other != name:
                    package = re.escape(_package(other_folder))
                    assert not re.search(rf"{package}\b|portald_plugins\.{other}\b|from \.\.+{other}\b", text), \
                        (file, other)


def test_no_literal_hardware_paths_in_plugins():
    for file in (ROOT / "plugins").rglob("*.py"):
        text = file.read_text()
        assert not re.search(r"[\"']/(sys|proc|dev)(/|[\"'])", text), file


def test_no_literal_host_paths_in_capability_plugins():
    for folder in CAPABILITY_DIRS.values():
        for file in folder.rglob("*.py"):
            found = re.findall(r"[\"'](/(?:etc|usr|run|var|opt|home|root)/[^\"']*)", file.read_text())
            assert not found, (file, found)


def test_every_module_has_a_docstring():
    for file in [*(ROOT / "portald").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]:
        if file.stat().st_size:
            assert file.read_text().lstrip().startswith(('"""', "'''", '"')), file
