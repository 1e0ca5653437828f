"""Checking a driver against the ``typing.Protocol`` of the capability it is offered for.

Every capability declares its driver interface as a Protocol (``plugins/<capability>/interface.py``),
derived from ``portald.drivers.Driver`` (``name`` and ``probe()``). ``problems(driver, protocol)`` lists
what a driver lacks: a member that is missing, a method that is not callable, or a method whose
signature cannot take the calls the Protocol promises (a required parameter the Protocol does not
pass, a parameter of the Protocol the driver does not accept). Types are documentation here, not
checked at run time. Optional methods (``close()``) are those a Protocol lists in ``__optional__``.

The core runs this when it chooses drivers (a driver that does not conform is skipped and reported,
never called), and ``tests/test_driver_contract.py`` runs it on every board's drivers.
"""
from __future__ import annotations

import inspect
from typing import Any


def members(protocol: type) -> dict[str, Any]:
    """The Protocol's methods and attributes (its own and its bases'), name -> function or None."""
    found: dict[str, Any] = {}
    for klass in reversed(protocol.__mro__):
        if klass in (object,) or klass.__name__ in ("Protocol", "Generic"):
            continue
        for name in getattr(klass, "__annotations__", {}):
            found.setdefault(name, None)
        for name, value in vars(klass).items():
            if not name.startswith("_") and callable(value):
                found[name] = value
    return found


def _signature_problem(name: str, wanted, given) -> str | None:
    try:
        want = inspect.signature(wanted)
        have = inspect.signature(given)
    except (TypeError, ValueError):
        return None  # a builtin or C method: nothing to compare
    want_params = [p for p in want.parameters.values() if p.name != "self"]
    have_params = list(have.parameters.values())
    if have_params and have_params[0].name == "self":
        have_params = have_params[1:]  # a class attribute looked up on the class
    var_positional = any(p.kind is p.VAR_POSITIONAL for p in have_params)
    var_keyword = any(p.kind is p.VAR_KEYWORD for p in have_params)
    positional = [p for p in have_params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    by_name = {p.name: p for p in have_params}
    for index, param in enumerate(want_params):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.kind is param.KEYWORD_ONLY:
            if param.name not in by_name and not var_keyword:
                return f"{name}() does not accept the keyword {param.name!r}"
        elif index >= len(positional) and not var_positional:
            return f"{name}() takes fewer arguments than the interface passes ({param.name!r})"
    passed = {p.name for p in want_params}
    for index, param in enumerate(have_params):
        if param.default is not param.empty or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.kind is param.KEYWORD_ONLY and param.name not in passed:
            return f"{name}() requires the keyword {param.name!r}, which the interface never passes"
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD) and index >= len(
                [p for p in want_params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]):
            return f"{name}() requires {param.name!r}, which the interface never passes"
    return None


def problems(driver: Any, protocol: type) -> list[str]:
    """What ``driver`` lacks to satisfy ``protocol`` (empty when it conforms)."""
    driver = getattr(driver, "wrapped", driver)  # a BlockingDriver: check what it wraps
    optional = set(getattr(protocol, "__optional__", ()))
    found = []
    for name, wanted in members(protocol).items():
        if not hasattr(driver, name):
            if name not in optional:
                found.append(f"missing {name}")
            continue
        given = getattr(driver, name)
        if wanted is None:
            continue
        if not callable(given):
            found.append(f"{name} is not callable")
            continue
        problem = _signature_problem(name, wanted, given)
        if problem:
            found.append(problem)
    return found
