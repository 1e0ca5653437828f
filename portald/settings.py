"""The one way a plugin's or a driver's settings are declared and checked: a pydantic model.

A capability plugin declares ``settings=`` on its ``Capability`` (its ``[plugins.<name>]`` table); a
board's driver module declares ``Settings`` (its ``[plugins.<board>.<capability>]`` table). Both derive
from ``Settings`` below: unknown keys are errors (a misspelt key in a factory's config must not be
silently ignored), types are strict (``"5"`` is not a number, ``true`` is not 1) and the result is
frozen. The core validates them once at start-up; a table that does not validate fails its plugin
(or, for a driver, skips that driver) with the reason shown in ``/platform/api/plugins``.
"""
from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

S = TypeVar("S", bound=BaseModel)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SettingsError(ValueError):
    """A settings table does not validate; the message names the keys and why."""


def validate(model: type[S], table: dict[str, Any], where: str) -> S:
    try:
        return model.model_validate(table)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(table)'}: {err['msg']}"
            for err in exc.errors(include_url=False))
        raise SettingsError(f"{where}: {problems}") from None
