"""The command line: ``portald run``, ``portald check`` and ``portald admin`` (other tools rely on
these exact flags).

    portald --version
    portald run   [--config FILE] [--sim] [--listen HOST:PORT] [--http] [--state-dir DIR]
    portald check [--config FILE] [--sim] [--privileges]
    portald admin reset-password [--config FILE] [--state-dir DIR] [--password-stdin | --factory-default]

``run`` patches the standard library for gevent before anything else is imported. ``check`` exits 2
on a configuration error, 3 when a plugin failed or a ``[plugins.<name>]`` section names no plugin
(so a script validating an edited config catches both), else 0.
"""
from __future__ import annotations

import argparse
import json
import sys


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="portald", description="Platform Portal device-management daemon")
    parser.add_argument("--version", action="version", version=f"portald {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve the API")
    check = sub.add_parser("check", help="load config and plugins, print their state and the profile")
    for p in (run, check):
        p.add_argument("--config", metavar="FILE", help="TOML config (default /etc/portald/portald.toml)")
        p.add_argument("--sim", action="store_true", help="use the simulated board")
    run.add_argument("--listen", metavar="HOST:PORT", help="address to serve on (default 0.0.0.0:8443)")
    run.add_argument("--http", action="store_true", help="serve plain HTTP instead of HTTPS")
    run.add_argument("--state-dir", metavar="DIR", help="state folder (default /var/lib/portald)")
    check.add_argument("--privileges", action="store_true", help="also print the privilege table")
    admin = sub.add_parser("admin", help="local administration (root only)")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    reset = admin_sub.add_parser("reset-password", help="set a new password for the built-in admin account")
    reset.add_argument("--config", metavar="FILE", help="TOML config (default /etc/portald/portald.toml)")
    reset.add_argument("--state-dir", metavar="DIR", help="state folder (default /var/lib/portald)")
    how = reset.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read the new password from standard input")
    how.add_argument("--factory-default", action="store_true",
                     help="put back the factory password (to be changed at the next login)")
    return parser


def _overrides(args: argparse.Namespace) -> dict:
    out: dict = {}
    if getattr(args, "sim", False):
        out["board"] = "sim"
    if getattr(args, "state_dir", None):
        out["state_dir"] = args.state_dir
    server = {}
    if getattr(args, "listen", None):
        server["listen"] = args.listen
    if getattr(args, "http", False):
        server["http"] = True
    if server:
        out["server"] = server
    return out


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        from gevent import monkey

        # subprocess stays unpatched: portald's own commands go through the runner, which uses
        # gevent.subprocess explicitly, while C libraries loaded from the threadpool (libpam, libxcb
        # for screenshots) look themselves up with ctypes.util.find_library, which runs ldconfig with
        # the stdlib subprocess — and a patched one cannot start a child from a threadpool thread.
        monkey.patch_all(subprocess=False)
    from .config import ConfigError, load

    try:
        config = load(args.config, _overrides(args))
    except ConfigError as exc:
        print(f"portald: configuration error: {exc}", file=sys.stderr)
        return 2
    from . import log_format

    log_format.setup(config.log_level)
    if args.command == "admin":
        from .admin_cli import reset_password

        return reset_password(config, args.factory_default, args.password_stdin)
    if args.command == "run":
        return _run(config)
    return _check(config, args.privileges)


def _run(config) -> int:
    from .memory import release_free_memory, tune_malloc
    from .server import generated_tls_pair, serve

    tune_malloc()

    try:
        # at a first start the HTTPS key pair is made by a child: started before the app's imports,
        # it is ready by the time the app is
        tls_pair = generated_tls_pair(config)
        from .app import create_app

        app = create_app(config)
    except OSError as exc:
        print(f"portald: cannot start: {exc}", file=sys.stderr)
        return 1
    release_free_memory()
    try:
        serve(app, config, on_ready=_announce, tls_pair=tls_pair)
    except OSError as exc:  # the port is taken, the address is not ours, the certificate is unreadable
        app.extensions["portald"].shutdown()
        print(f"portald: cannot serve on {config.server.listen}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _announce(urls: list[str]) -> None:
    others = f" (also {', '.join(urls[1:])})" if len(urls) > 1 else ""
    print(f"portald: serving {urls[0]}{others}", flush=True)


def _check(config, show_privileges: bool) -> int:
    import tempfile
    from pathlib import Path

    from .app import create_app
    from .auth import privileges
    from .core_routes import profile_document

    # check must not create keys in the real state dir: auth lives in a throwaway folder here
    with tempfile.TemporaryDirectory(prefix="portald-check-") as scratch:
        config = config.model_copy(update={"state_dir": config.state_dir if config.state_dir.exists() else Path(scratch)})
        app = create_app(config)
        core = app.extensions["portald"]
        try:
            status = core.host.status()
            print("plugins:")
            for plugin in status["plugins"]:
                reason = f" ({plugin['reason']})" if plugin["reason"] else ""
                print(f"  {plugin['name']:<12} {plugin['state']:<8} {plugin['source']}{reason}")
            print("drivers:")
            for capability, chosen in status["drivers"].items():
                print(f"  {capability:<12} {chosen['driver']} (plugin {chosen['plugin']})")
            if show_privileges:
                print("privileges:")
                for rule, method, level in privileges.table(app):
                    print(f"  {method:<6} {rule:<45} {level}")
            with app.app_context():
                print("profile:")
                print(json.dumps(profile_document(), indent=2))
            problems = [f"plugin {p['name']} failed: {p['reason']}" for p in status["plugins"]
                        if p["state"] == "failed"]
            problems += [f"config section [plugins.{name}] matches no plugin"
                         for name in core.host.unknown_sections()]
        finally:
            core.shutdown()
    for problem in problems:
        print(f"portald: {problem}", file=sys.stderr)
    return 3 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
