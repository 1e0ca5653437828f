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
    assert all(section == {} for section in shipped.plugins.values())


def test_portald_check_exits_nonzero_on_config_error(tmp_path):
    file = tmp_path / "portald.toml"
    file.write_text("bogus = 1\n")
    result = subprocess.run([sys.executable, "-m", "portald", "check", "--config", str(file)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "bogus" in result.stderr
