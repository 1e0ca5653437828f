"""Request bodies: parsed once, bounded in depth, validated by pydantic models.

Models are strict: ``true`` is not an integer and ``"5"`` is not a number, as a client written against
the spec would expect. A body that is not JSON, too deep, or does not match its model is answered
422 ``{"errors": {"validator": "..."}}`` — the spec's shape for "the request body has missing
parameters" — unless the caller names another area. Never a 500.
"""
from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import current_app, request
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import AreaError

M = TypeVar("M", bound=BaseModel)


class Body(BaseModel):
    """Base for request bodies: strict types, unknown fields rejected."""

    model_config = ConfigDict(strict=True, extra="forbid")


def json_depth_exceeds(text: str, limit: int) -> bool:
    """True when arrays/objects nest deeper than ``limit`` (checked before parsing: Python's parser
    would recurse until RecursionError on a hostile body)."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def json_body(area: str = "validator") -> Any:
    raw = request.get_data(cache=True)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AreaError(area, "request body is not UTF-8") from None
    if not text.strip():
        raise AreaError(area, "request body is empty")
    if json_depth_exceeds(text, current_app.config.get("PORTALD_MAX_JSON_DEPTH", 32)):
        raise AreaError(area, "request body is nested too deeply")
    try:
        return json.loads(text)
    except ValueError as exc:
        # JSONDecodeError has .msg; a number past int_max_str_digits is a plain ValueError
        raise AreaError(area, f"request body is not valid JSON: {getattr(exc, 'msg', exc)}") from None


def describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)


def parse_body(model: type[M], area: str = "validator") -> M:
    data = json_body(area)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise AreaError(area, describe(exc)) from None
