"""Helpers for board plugins: a board plugin that keeps one module per capability can offer all of
them with ``collect_drivers(__name__, ctx)``.

Each submodule of the package that defines ``CAPABILITY`` (e.g. ``"hwmon"``) and
``create_driver(ctx)`` (returning a driver, or None when it has nothing for this machine) contributes
one driver. A submodule that fails to import or to create its driver is logged and skipped, so one
broken capability does not take the rest of the board down.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any

log = logging.getLogger("portald.board")


def collect_drivers(package: str, ctx) -> dict[str, Any]:
    drivers: dict[str, Any] = {}
    module = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda m: m.name):
        name = f"{package}.{info.name}"
        try:
            sub = importlib.import_module(name)
            if not hasattr(sub, "CAPABILITY") or not hasattr(sub, "create_driver"):
                continue
            driver = sub.create_driver(ctx)
        except Exception as exc:
            ctx.log.error("driver module %s skipped: %s: %s", name, type(exc).__name__, exc)
            continue
        if driver is not None:
            drivers[sub.CAPABILITY] = driver
    return drivers
