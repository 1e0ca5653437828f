"""Configuration: the TOML file, then ``PORTALD_*`` environment variables, then command-line flags.

Every hardware path is reached through the configured roots (``sysfs_root``, ``procfs_root``,
``dev_root``) so that tests and sandboxes point them at fixture trees. Unknown keys are errors: a
misspelt key in a factory's config must not be silently ignored.

Environment variables name a key by its path, upper-cased, with ``__`` between sections:
``PORTALD_STATE_DIR=/tmp/s``, ``PORTALD_SERVER__LISTEN=127.0.0.1:9000``,
``PORTALD_AUTH__TOKEN_TTL_SECONDS=600``. Values are parsed as TOML values when they parse
(numbers, booleans, arrays), else taken as strings.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_CONFIG_FILE = Path("/etc/portald/portald.toml")


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ServerConfig(_Section):
    listen: str = "0.0.0.0:8443"
    http: bool = False
    tls_cert: str = ""
    tls_key: str = ""
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_json_depth: int = Field(32, ge=2, le=512)
    max_connections: int = Field(1024, ge=8)
    idle_timeout_seconds: float = Field(30.0, gt=0)
    request_timeout_seconds: float = Field(10.0, gt=0)
    max_connections_per_client: int = Field(128, ge=1)
    max_streams: int = Field(256, ge=1)
    max_streams_per_user: int = Field(32, ge=1)
    heartbeat_seconds: float = Field(15.0, gt=0)
    # Host names (or addresses) accepted in the Host header besides the built-in ones; "*": any
    allowed_hosts: list[str] = []

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        parse_listen(value)
        return value


class AuthConfig(_Section):
    token_ttl_seconds: int = Field(3600, ge=60)
    pam_service: str = "portald"
    admin_groups: list[str] = ["sudo", "wheel"]
    max_failures: int = Field(5, ge=1)
    failure_window_seconds: int = Field(900, ge=1)
    lockout_seconds: int = Field(300, ge=1)
    failure_delay_seconds: float = Field(0.5, ge=0)
    failure_delay_max_seconds: float = Field(4.0, ge=0)
    address_max_failures: int = Field(20, ge=1)
    account_max_failures: int = Field(100, ge=1)
    account_lockout_seconds: int = Field(60, ge=1)
    # credential checks: PAM checks running at once (threads), and login attempts per client address
    max_concurrent_checks: int = Field(4, ge=1, le=64)
    max_attempts_per_address: int = Field(2, ge=1)
    # reverse proxies (addresses or networks) whose X-Forwarded-For names the client; default none
    trusted_proxies: list[str] = []

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError -> a ConfigError naming the key
        return value


class ChangesConfig(_Section):
    # network changes (addresses, DHCP, route order, Wi-Fi profiles) are rolled back unless a client
    # confirms them within this time (portald.change_window)
    confirm_timeout_seconds: float = Field(120.0, ge=1, le=3600)


class MetricsConfig(_Section):
    # GET /metrics needs a token unless this is false: a login's token, or the scrape token below
    auth: bool = True
    # a file holding a static token for scrapers (Authorization: Bearer <it>); "" = none
    token_file: str = ""


class AuditConfig(_Section):
    # where audit lines go: "" = <state_dir>/audit.log, a path, or "-" for stderr (the journal)
    file: str = ""
    # rotated at this size, keeping this many old files (audit.log.1, ...)
    max_bytes: int = Field(10 * 1024 * 1024, ge=4096)
    backup_count: int = Field(5, ge=0, le=1000)


class Config(_Section):
    board: Literal["auto", "sim"] = "auto"
    state_dir: Path = Path("/var/lib/portald")
    plugins_dir: Path = Path("/etc/portald/plugins.d")
    disabled_plugins: list[str] = []
    sysfs_root: Path = Path("/sys")
    procfs_root: Path = Path("/proc")
    dev_root: Path = Path("/dev")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # longest a call into a blocking driver (sysfs over I2C, ioctls) may take before it is a 422
    driver_timeout_seconds: float = Field(5.0, gt=0, le=120)
    server: ServerConfig = ServerConfig()
    auth: AuthConfig = AuthConfig()
    changes: ChangesConfig = ChangesConfig()
    metrics: MetricsConfig = MetricsConfig()
    audit: AuditConfig = AuditConfig()
    # capability -> preferred driver names (or plugin names), first match wins over hook order
    drivers: dict[str, list[str]] = {}
    # [plugins.<name>] sections, free-form: each plugin validates its own
    plugins: dict[str, dict[str, Any]] = {}

    def plugin_section(self, name: str) -> dict[str, Any]:
        return dict(self.plugins.get(name, {}))


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"listen must be HOST:PORT, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith("PORTALD_") or key == "PORTALD_CONFIG":
            continue
        path = key[len("PORTALD_"):].lower().split("__")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load(path: str | os.PathLike | None = None, overrides: dict | None = None,
         environ: dict[str, str] | None = None) -> Config:
    """Build the configuration. ``path=None`` reads the default file when it exists."""
    environ = dict(os.environ if environ is None else environ)
    if path is None and environ.get("PORTALD_CONFIG"):
        path = environ["PORTALD_CONFIG"]
    data: dict[str, Any] = {}
    if path is not None or DEFAULT_CONFIG_FILE.exists():
        file = Path(path) if path is not None else DEFAULT_CONFIG_FILE
        try:
            data = tomllib.loads(file.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read {file}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: {exc}") from exc
    data = _merge(data, _env_overrides(environ))
    data = _merge(data, overrides or {})
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(problems) from None
