"""Helpers for board plugins: a board plugin that keeps one module per capability offers all of them
with ``collect_drivers(__name__, ctx)``.

Each submodule of the package that defines ``CAPABILITY`` (e.g. ``"hwmon"``) and
``create_driver(ctx, settings)`` (returning a driver, or None when it has nothing for this machine)
contributes one driver. A module may declare ``Settings``, a pydantic model of its settings: the core
validates the board's ``[plugins.<board>.<capability>]`` table with it (e.g. ``[plugins.linux.gpio]``)
and hands the result to ``create_driver``; a module without ``Settings`` gets None and its table must
be absent. A key of ``[plugins.<board>]`` that names no capability of the board is reported.

A submodule that fails to import, to validate its settings or to create its driver is logged and
recorded against the board plugin (``/platform/api/plugins`` shows the reason) and skipped, so one
broken capability does not take the rest of the board down.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any

log = logging.getLogger("portald.board")


def driver_settings(module, section: dict[str, Any]):
    """The validated settings of one driver module from its board's config ``section``."""
    model = getattr(module, "Settings", None)
    table = section.get(module.CAPABILITY)
    if model is None:
        if table:
            raise ValueError(f"takes no settings, but [{module.CAPABILITY}] has {sorted(table)}")
        return None
    from .settings import validate

    return validate(model, table or {}, f"[{module.CAPABILITY}]")


def _submodule_names(package: str) -> list[str]:
    module = importlib.import_module(package)
    return [f"{package}.{info.name}" for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda m: m.name)]


def _is_driver_module(module) -> bool:
    return hasattr(module, "CAPABILITY") and hasattr(module, "create_driver")


def driver_modules(package: str) -> list:
    """The driver modules of a board package (those with ``CAPABILITY`` and ``create_driver``)."""
    return [sub for sub in map(importlib.import_module, _submodule_names(package)) if _is_driver_module(sub)]


def collect_drivers(package: str, ctx) -> dict[str, Any]:
    drivers: dict[str, Any] = {}
    section = ctx.config
    capabilities = set()
    for name in _submodule_names(package):
        try:
            sub = importlib.import_module(name)
            if not _is_driver_module(sub):
                continue
            capabilities.add(sub.CAPABILITY)
            driver = sub.create_driver(ctx, driver_settings(sub, section))
        except Exception as exc:
            ctx.report_problem(f"driver module {name} skipped: {type(exc).__name__}: {exc}")
            continue
        if driver is not None:
            drivers[sub.CAPABILITY] = driver
    unknown = sorted(set(section) - capabilities)
    if unknown:
        ctx.report_problem(f"[plugins.{ctx.name}] has {', '.join(unknown)}, which name no capability of this board")
    return drivers
