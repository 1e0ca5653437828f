"""Access to the running daemon's services from inside a request."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app, g

if TYPE_CHECKING:
    from .auth.tokens import Identity
    from .core import Core


def core() -> "Core":
    return current_app.extensions["portald"]


def identity() -> "Identity":
    """The authenticated caller of this request (set by the privilege guard)."""
    return g.identity
