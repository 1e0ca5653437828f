"""What a route declares for the OpenAPI document beyond what Flask's URL map and the privilege table
already say: its request body model and the answers it gives that the generator cannot infer.

Declarations are attributes on the view, like ``@privilege(...)``; this module imports nothing, so a
route module pays nothing for them, and ``portald.openapi`` reads them when the document is first asked
for::

    @bp.put("/perif/led/<raw_id>")
    @accepts(LedBody)                       # the model the view passes to parse_body
    @answers({204: None, 404: MESSAGE})     # statuses beyond the inferred ones, with their error shape
    def set_led(raw_id): ...

What the generator infers by itself (``portald.openapi``): 401 and 403 in the auth shape on every route
that needs a token, 422 ``{"errors": {"validator": ...}}`` and 413 on a route with a body, 404 on a
route with path parameters or from a plugin ("not supported"), 422 ``{"errors": {"<Area>": ...}}`` on a
plugin's route (the hardware or the OS refused), 503 when the hardware did not answer, the event stream
of an ``@streaming`` route and the WebSocket upgrade of ``websocket.route``. ``links`` tells Schemathesis's
stateful run which answer feeds which operation (an id from a listing, a change to confirm), and
``query`` the query parameters a view reads.
"""
from __future__ import annotations

from typing import Any, Callable

# Error shapes (portald.errors), named for ``answers``; a status mapped to None has no body.
AUTH_ERROR = "auth"  # {"Code": n, "Message": ...}
AREA_ERROR = "area"  # {"errors": {"<Area>": ...}}
MESSAGE = "message"  # {"message": ...}
CODE_MESSAGE = "code-message"  # {"code": n, "message": ...}
JSON = "json"  # a success body in JSON, shape not described by a model
TEXT = "text/plain"
SHAPES = (AUTH_ERROR, AREA_ERROR, MESSAGE, CODE_MESSAGE, JSON)


def accepts(model: Any, media_type: str = "application/json") -> Callable:
    """The request body: a pydantic model (what the view passes to ``parse_body``), ``dict`` for any JSON
    object the view checks by hand, or a JSON schema (a ``dict`` instance) for other media types."""

    def mark(view: Callable) -> Callable:
        view.portald_body = (model, media_type)
        return view

    return mark


def answers(statuses: dict[int, str | tuple | None]) -> Callable:
    """Statuses the view answers beyond the inferred ones (or otherwise): ``{status: shape}`` with a
    shape of ``SHAPES``, a media type (``"image/png"``, ``TEXT``), a tuple of those (one of them) or None
    (no body). A declared success status replaces the default ``200 application/json``."""
    for status, shape in statuses.items():
        if not 100 <= int(status) <= 599:
            raise ValueError(f"not an HTTP status: {status!r}")
        for one in shape if isinstance(shape, tuple) else (shape,):
            if one is not None and one not in SHAPES and "/" not in one:
                raise ValueError(f"unknown answer shape {one!r} for {status}")

    def mark(view: Callable) -> Callable:
        declared = dict(getattr(view, "portald_answers", {}))
        declared.update({int(status): shape for status, shape in statuses.items()})
        view.portald_answers = declared
        return view

    return mark


def links(status: int = 200, /, **targets: tuple[str, str, dict[str, str]]) -> Callable:
    """OpenAPI links from this answer to the operations its values feed (Schemathesis follows them in
    its stateful run): ``confirm=("networking_changes.confirm", "POST", {"change_id":
    "$response.body#/confirmation/id"})`` — the target's endpoint, method and parameters as runtime
    expressions. A link to an operation the app does not serve is left out of the document."""

    def mark(view: Callable) -> Callable:
        declared = dict(getattr(view, "portald_links", {}))
        declared.setdefault(int(status), {}).update(targets)
        view.portald_links = declared
        return view

    return mark


def query(**params: dict) -> Callable:
    """Query parameters the view reads: ``name={"type": "integer", "enum": [0, 2]}`` (a JSON schema);
    ``required`` in it marks a parameter without which the route refuses."""

    def mark(view: Callable) -> Callable:
        view.portald_query = {**getattr(view, "portald_query", {}), **params}
        return view

    return mark
