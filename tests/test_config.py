"""Configuration precedence (file < PORTALD_* environment < command line) and errors."""
from __future__ import annotations

import subprocess
import sys

import pytest

from portald.config import ConfigError, load


def test_file_then_env_then_overrides(tmp_path):
    file = tmp_path / "portald.toml"
    file.write_text('sysfs_root = "/fixture/sys"\nstate_dir = "/from/file"\n[server]\nlisten = "127.0.0.1:1"\n'
                    '[plugins.hwmon]\ninterval_seconds = 5\n')
    config = load(file, overrides={"server": {"http": True}},
                  environ={"PORTALD_STATE_DIR": "/from/env", "PORTALD_SERVER__LISTEN": "127.0.0.1:2",
                           "PORTALD_AUTH__TOKEN_TTL_SECONDS": "600"})
    assert str(config.sysfs_root) == "/fixture/sys"
    assert str(config.state_dir) == "/from/env"
    assert config.server.listen == "127.0.0.1:2" and config.server.http is True
    assert config.auth.token_ttl_seconds == 600
    assert config.plugin_section("hwmon") == {"interval_seconds": 5}
    assert config.plugin_section("nope") == {}
    overridden = load(file, overrides={"state_dir": "/from/cli"}, environ={"PORTALD_STATE_DIR": "/from/env"})
    assert str(overridden.state_dir) == "/from/cli"


@pytest.mark.parametrize("text,needle", [
    ("bogus_key = 1\n", "bogus_key"),
    ('[server]\nlisten = "nowhere"\n', "listen"),
    ('board = "real"\n', "board"),
    ("[auth]\ntoken_ttl_seconds = 5\n", "token_ttl_seconds"),
    ("this is not toml", "portald.toml"),
])
def test_bad_config_is_a_clear_error(tmp_path, text, needle):
    file = tmp_path / "portald.toml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load(file, environ={})


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "none.toml", environ={})


def test_shipped_config_is_valid_and_only_comments_the_defaults(tmp_path):
    from pathlib import Path

    shipped = load(Path(__file__).parent.parent / "etc" / "portald.toml", environ={})
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    defaults = load(empty, environ={})
    assert shipped.model_dump(exclude={"plugins"}) == defaults.model_dump(exclude={"plugins"})
    def only_tables(section) -> bool:  # [plugins.linux.gpio] makes {"linux": {"gpio": {}}}
        return isinstance(section, dict) and all(only_tables(value) for value in section.values())

    assert all(only_tables(section) for section in shipped.plugins.values())


def test_portald_check_exits_nonzero_on_config_error(tmp_path):
    file = tmp_path / "portald.toml"
    file.write_text("bogus = 1\n")
    result = subprocess.run([sys.executable, "-m", "portald", "check", "--config", str(file)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "bogus" in result.stderr


def declared_settings() -> dict[str, type]:
    """``{config table: settings model}`` of every built-in plugin, read from its declarations: a
    capability plugin's ``Capability(settings=...)`` is ``[plugins.<name>]``, a board's driver module's
    ``Settings`` is ``[plugins.<board>.<capability>]``."""
    import importlib.metadata

    from portald.board import driver_modules
    from portald.capability import Capability

    found = {}
    for ep in importlib.metadata.entry_points(group="portald.plugins"):
        if ep.dist is None or ep.dist.name != "portald":
            continue
        module = ep.load()
        declared = getattr(module, "CAPABILITY", None)
        if isinstance(declared, Capability) and declared.settings_model is not None:
            found[f"plugins.{ep.name}"] = declared.settings_model
        if module.__name__.startswith("portald_plugins.boards."):
            for sub in driver_modules(module.__name__):
                if getattr(sub, "Settings", None) is not None:
                    found[f"plugins.{ep.name}.{sub.CAPABILITY}"] = sub.Settings
    return found


def _commented_keys(text: str) -> dict[str, set[str]]:
    """``{section: {key, ...}}`` of the ``# key = ...`` lines under each ``[section]`` header."""
    import re

    keys: dict[str, set[str]] = {}
    section = ""
    for line in text.splitlines():
        header = re.fullmatch(r"\[([^\]]+)\]\s*", line)
        if header:
            section = header[1]
            continue
        key = re.match(r"# ([A-Za-z0-9_]+) = ", line)
        if key:
            keys.setdefault(section, set()).add(key[1])
    return keys


def test_shipped_config_documents_every_settings_key():
    from pathlib import Path

    documented = _commented_keys((Path(__file__).parent.parent / "etc" / "portald.toml").read_text())
    models = declared_settings()
    assert "plugins.hwmon" in models and "plugins.linux.services" in models
    missing = [f"[{table}] {field}" for table, model in models.items() for field in model.model_fields
               if field not in documented.get(table, set())]
    assert not missing, "etc/portald.toml does not document: " + ", ".join(missing)
    stale = sorted(table for table in documented if table.startswith("plugins.") and table not in models)
    assert not stale, f"etc/portald.toml documents tables no plugin reads: {stale}"


def _check(*args, env_extra=None, tmp_path=None):
    import os

    env = dict(os.environ, PORTALD_STATE_DIR=str(tmp_path / "state"), **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "portald", "check", "--sim", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def test_check_passes_the_shipped_config(tmp_path):
    from pathlib import Path

    shipped = Path(__file__).parent.parent / "etc" / "portald.toml"
    result = _check("--config", str(shipped), tmp_path=tmp_path,
                    env_extra={"PORTALD_PLUGINS_DIR": str(tmp_path / "none")})
    assert result.returncode == 0, result.stderr


def test_check_exits_3_on_a_misspelt_plugin_section(tmp_path):
    file = tmp_path / "portald.toml"
    file.write_text(f'plugins_dir = "{tmp_path / "none"}"\n[plugins.hwmonn]\ninterval_seconds = 1\n')
    result = _check("--config", str(file), tmp_path=tmp_path)
    assert result.returncode == 3
    assert "[plugins.hwmonn] matches no plugin" in result.stderr


def test_check_exits_3_when_a_plugin_fails(tmp_path):
    folder = tmp_path / "plugins.d"
    folder.mkdir()
    (folder / "broken.py").write_text("raise RuntimeError('bad firmware table')\n")
    file = tmp_path / "portald.toml"
    file.write_text(f'plugins_dir = "{folder}"\n')
    result = _check("--config", str(file), tmp_path=tmp_path)
    assert result.returncode == 3
    assert "plugin broken failed" in result.stderr and "bad firmware table" in result.stderr
