"""The privilege table: what each route needs, verb by verb.

Routes declare what they need with ``@privilege(...)``; a route that declares nothing gets the safe
default — reads (GET/HEAD/OPTIONS) for any authenticated user, every other verb for ``admin`` only — so a
plugin author who forgets to think about privileges cannot open a write to ordinary users.
``table(app)`` lists the whole table (``portald check --privileges`` prints it).

Levels:
  ``public``        no token needed (pings, agent info, login)
  ``user``          any valid token (OS user or admin)
  ``admin``         the admin account, uid 0, or a member of ``auth.admin_groups``
  ``admin-account`` only the built-in admin account (``m=2``); the one level a token issued for the
                    default password may use, so that it can change that password
"""
from __future__ import annotations

from typing import Callable

from flask import Flask

PUBLIC, USER, ADMIN, ADMIN_ACCOUNT = "public", "user", "admin", "admin-account"
LEVELS = (PUBLIC, USER, ADMIN, ADMIN_ACCOUNT)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def privilege(level: str | None = None, **per_method: str) -> Callable:
    """``@privilege(PUBLIC)`` for every verb, or ``@privilege(GET=USER, PUT=ADMIN)`` verb by verb."""
    for value in [level, *per_method.values()]:
        if value is not None and value not in LEVELS:
            raise ValueError(f"unknown privilege level {value!r}")

    def mark(view: Callable) -> Callable:
        view.portald_privilege = {"*": level} if level else {m.upper(): v for m, v in per_method.items()}
        return view

    return mark


def streaming(view: Callable) -> Callable:
    """Marks a route that may answer as an event stream or a WebSocket: only such routes accept the
    token as ``?token=`` (browsers' EventSource and WebSocket cannot send an Authorization header)."""
    view.portald_streams = True
    return view


def streams(view: Callable) -> bool:
    return getattr(view, "portald_streams", False)


def required(view: Callable, method: str) -> str:
    declared = getattr(view, "portald_privilege", {})
    if method in declared:
        return declared[method]
    if method == "HEAD" and "GET" in declared:
        return declared["GET"]
    if "*" in declared:
        return declared["*"]
    return USER if method in READ_METHODS else ADMIN


def table(app: Flask) -> list[tuple[str, str, str]]:
    rows = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rows.append((rule.rule, method, required(view, method)))
    return sorted(rows)
