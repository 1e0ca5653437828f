"""Every hook is documented, every built-in plugin is packaged and registered, no plugin imports
another, and no hardware path is written as a literal in a plugin."""
from __future__ import annotations

import configparser
import inspect
import re
from pathlib import Path

import pluggy

from portald import hookspecs

ROOT = Path(__file__).parent.parent
PLUGIN_DIRS = sorted(p.parent.name for p in (ROOT / "plugins").glob("*/__init__.py"))


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
    for name in PLUGIN_DIRS:
        assert f"portald_plugins.{name}" in packages, name
        assert entry_points.get(name) == f"portald_plugins.{name}", name


def test_plugins_never_import_each_other():
    for name in PLUGIN_DIRS:
        for file in (ROOT / "plugins" / name).rglob("*.py"):
            text = file.read_text()
            others = [o for o in PLUGIN_DIRS if o != name]
            for other in others:
                assert not re.search(rf"portald_plugins\.{other}\b|from \.\.{other}\b", text), (file, other)


def test_no_literal_hardware_paths_in_plugins():
    for file in (ROOT / "plugins").rglob("*.py"):
        text = file.read_text()
        assert not re.search(r"[\"']/(sys|proc|dev)(/|[\"'])", text), file


def test_every_module_has_a_docstring():
    for file in [*(ROOT / "portald").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]:
        if file.stat().st_size:
            assert file.read_text().lstrip().startswith(('"""', "'''", '"')), file
