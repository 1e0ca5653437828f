"""``GET /openapi.json``: the OpenAPI 3.1 document of every route this daemon serves, built at run time
from Flask's URL map (core, capability, board and drop-in plugins alike), the privilege table, the
pydantic models the routes validate with and what the routes declare (``portald.openapi_decl``).

Nothing here is a hand-kept copy of the API: a new route appears in the document as soon as it is
registered, with the security its privilege needs, the statuses the core gives every such route and
the error shapes of ``portald.errors``. Where a route has no model for its answer the document says
only what is true: "JSON" (any value). The document is built once per app, on first request.

``GET /docs`` (the interactive docs page) lives in ``portald.openapi_docs``.
"""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from pydantic import BaseModel
from werkzeug.routing import Rule

from . import __version__
from . import openapi_decl as decl
from .auth import privileges

CACHE_KEY = "portald.openapi"
_PARAM = re.compile(r"<(?:([a-zA-Z_][a-zA-Z0-9_]*)(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")

ERROR_SCHEMAS = {
    "AuthError": {
        "type": "object", "required": ["Code", "Message"],
        "properties": {"Code": {"type": "integer"}, "Message": {"type": "string"}},
        "description": 'Auth failures: {"Code": 401|403|429, "Message": ...}',
    },
    "AreaError": {
        "type": "object", "required": ["errors"],
        "properties": {"errors": {"type": "object", "minProperties": 1,
                                  "additionalProperties": {"type": "string"}}},
        "description": 'Per-area errors: {"errors": {"<Area>": ...}} ("validator" for a malformed body)',
    },
    "MessageError": {
        "type": "object", "required": ["message"], "properties": {"message": {"type": "string"}},
        "description": 'Everything else: {"message": ...} (EdgeHub, "not supported", HTTP errors)',
    },
    "CodeMessageError": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
        "description": 'The admin-password endpoints\' 400: {"code": 400, "message": ...}',
    },
}
_SHAPE_SCHEMA = {decl.AUTH_ERROR: "AuthError", decl.AREA_ERROR: "AreaError", decl.MESSAGE: "MessageError",
                 decl.CODE_MESSAGE: "CodeMessageError"}
_REASONS = {
    101: "Switching Protocols: the WebSocket is open", 200: "OK", 201: "Created", 204: "No Content",
    400: "Bad Request", 401: "Unauthorized: no valid token", 403: "Forbidden: the token's role may not "
    "do this (or the admin account still has its factory password)", 404: "Not found, or not supported "
    "on this machine / no available data", 413: "Request body too large", 422: "Unprocessable Entity: "
    "the body is invalid, or the request was applied but got errors", 426: "Upgrade Required: "
    "WebSocket version 13 only", 429: "Too many attempts", 503: "Unavailable: the hardware did not "
    "answer, or the server's sessions are full",
}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": "The token from POST /auth/login, as Authorization: Bearer <token>"},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "jwt",
               "description": "The jwt cookie that POST /auth/login sets (HttpOnly, SameSite=Strict)"},
    "token": {"type": "apiKey", "in": "query", "name": "token",
              "description": "?token=<token>, accepted only on event streams and WebSocket upgrades "
                             "(a browser's EventSource and WebSocket cannot send headers)"},
}


def blueprints() -> list[Blueprint]:
    """``/openapi.json`` and the docs page that reads it (``/docs``)."""
    from . import openapi_docs

    bp = Blueprint("openapi", __name__)

    @bp.get("/openapi.json")
    @privileges.privilege(privileges.PUBLIC)
    def openapi_json():
        """The OpenAPI 3.1 document of every route this daemon serves."""
        return jsonify(document(current_app))

    return [bp, openapi_docs.blueprint()]


def document(app: Flask) -> dict:
    """The document for ``app``, built on first use and kept (an app's routes do not change once it
    serves)."""
    cached = app.extensions.get(CACHE_KEY)
    if cached is None:
        cached = app.extensions[CACHE_KEY] = build(app)
    return cached


def build(app: Flask) -> dict:
    components: dict[str, dict] = dict(ERROR_SCHEMAS)
    paths: dict[str, dict] = {}
    operation_ids: set[str] = set()
    websockets = {rule.endpoint for rule in app.url_map.iter_rules() if rule.websocket}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.websocket:
            continue
        view = app.view_functions[rule.endpoint]
        path, parameters = _path(rule)
        item = paths.setdefault(path, {})
        if parameters:
            item["parameters"] = parameters
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation = item[method.lower()] = _operation(rule, view, method, rule.endpoint in websockets, components)
            base, n = operation["operationId"], 1
            while operation["operationId"] in operation_ids:  # one view under two rules ("x" and "x/")
                n += 1
                operation["operationId"] = f"{base}_{n}"
            operation_ids.add(operation["operationId"])
    _resolve_links(paths, operation_ids)
    return {
        "openapi": "3.1.0",
        "info": {"title": "portald: the Platform Portal API", "version": __version__,
                 "description": "Every route this daemon serves, generated from its route table, privilege "
                                "table and request models. Log in with POST /auth/login?m=2 (admin account) "
                                "or m=0 (OS account) and send the token as a bearer token. Responses "
                                "described only as JSON follow the Platform Portal API specification."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": dict(sorted(components.items())), "securitySchemes": SECURITY_SCHEMES},
        "security": [{"bearer": []}, {"cookie": []}],
        "tags": sorted(({"name": tag} for tag in {op["tags"][0] for item in paths.values()
                                                   for op in item.values() if isinstance(op, dict)
                                                   and "tags" in op}), key=lambda t: t["name"]),
    }


def operation_id(endpoint: str, method: str) -> str:
    return f"{endpoint}.{method.lower()}".replace(".", "_")


def _resolve_links(paths: dict, operation_ids: set[str]) -> None:
    """Declared links (``openapi_decl.links``) become OpenAPI links by operationId; one to an operation
    that is not served here (a plugin not loaded) is dropped."""
    for item in paths.values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, targets in operation.pop("x-portald-links", {}).items():
                found = {name: {"operationId": operation_id(endpoint, method), "parameters": parameters}
                         for name, (endpoint, method, parameters) in targets.items()
                         if operation_id(endpoint, method) in operation_ids}
                if found and str(status) in operation["responses"]:
                    operation["responses"][str(status)]["links"] = found


def _path(rule: Rule) -> tuple[str, list[dict]]:
    parameters = []

    def replace(match: re.Match) -> str:
        converter, name = match.group(1) or "default", match.group(2)
        schema = {"int": {"type": "integer"}, "float": {"type": "number"},
                  "uuid": {"type": "string", "format": "uuid"}}.get(converter, {"type": "string"})
        if converter == "path":
            schema = {"type": "string", "description": "may contain '/' (URL-encode it as %2F)"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _PARAM.sub(replace, rule.rule), parameters


def _operation(rule: Rule, view, method: str, websocket: bool, components: dict) -> dict:
    level = privileges.required(view, method)
    streams = privileges.streams(view)
    doc = (view.__doc__ or "").strip()
    operation: dict[str, Any] = {
        "operationId": operation_id(rule.endpoint, method),
        "tags": [rule.endpoint.split(".", 1)[0]],
        "summary": doc.split("\n\n", 1)[0].replace("\n", " ")[:120] if doc else _summary(rule, method),
        "x-privilege": level,
    }
    if doc:
        operation["description"] = doc
    if level == privileges.PUBLIC:
        operation["security"] = []
    elif streams:
        operation["security"] = [{"bearer": []}, {"cookie": []}, {"token": []}]
    query = getattr(view, "portald_query", {})
    if query:
        operation["parameters"] = [
            {"name": name, "in": "query", "required": bool(schema.get("required")),
             "schema": {k: v for k, v in schema.items() if k != "required"}} for name, schema in query.items()]
    body = getattr(view, "portald_body", None) if method not in privileges.READ_METHODS else None
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {body[1]: {"schema": _schema(body[0], components)}}}
    operation["responses"] = _responses(rule, view, method, level, body is not None, streams, websocket)
    if getattr(view, "portald_links", None):
        operation["x-portald-links"] = view.portald_links  # resolved once every operation is known
    if websocket:
        operation["x-websocket"] = True
        operation["description"] = (doc + "\n\n" if doc else "") + (
            "Also a WebSocket: the same URL with `Upgrade: websocket` (the token in the header, the jwt "
            "cookie or ?token=) answers 101 and speaks frames instead of JSON.")
    return operation


def _summary(rule: Rule, method: str) -> str:
    """A view without a docstring: its name in words (``set_led`` -> "Set led")."""
    return rule.endpoint.rsplit(".", 1)[-1].replace("_", " ").strip().capitalize() or f"{method} {rule.rule}"


def _schema(model: Any, components: dict) -> dict:
    if model is dict:
        return {"type": "object", "description": "a JSON object; the route checks its fields itself"}
    if isinstance(model, dict):
        return model
    if isinstance(model, type) and issubclass(model, BaseModel):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        name = model.__name__
        if components.get(name, schema) != schema:  # two plugins' models of one name: the module tells them apart
            name = f"{model.__module__}.{name}".replace(".", "_")
        components[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}
    raise TypeError(f"cannot describe a request body of {model!r}")


def _content(shape: str | tuple | None) -> dict | None:
    if shape is None:
        return None
    if isinstance(shape, tuple):  # one of several: JSON shapes become anyOf, media types add up
        json_schemas = [_content(one)["application/json"]["schema"] for one in shape if one in _SHAPE_SCHEMA]
        content = {}
        for one in shape:
            if one not in _SHAPE_SCHEMA:
                content.update(_content(one))
        if json_schemas:
            content["application/json"] = {"schema": json_schemas[0] if len(json_schemas) == 1
                                           else {"anyOf": json_schemas}}
        return content
    if shape in _SHAPE_SCHEMA:
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{_SHAPE_SCHEMA[shape]}"}}}
    if shape == decl.JSON:
        return {"application/json": {"schema": {"description": "JSON as the Platform Portal API specifies"}}}
    if shape == "text/event-stream":
        return {shape: {"schema": {"type": "string", "description": "Server-Sent Events"}}}
    return {shape: {"schema": {"type": "string"}}}


def _responses(rule: Rule, view, method: str, level: str, has_body: bool, streams: bool, websocket: bool) -> dict:
    declared: dict[int, str | None] = dict(getattr(view, "portald_answers", {}))
    statuses: dict[int, str | None] = {}
    if not any(200 <= status < 300 for status in declared):
        statuses[200] = decl.JSON
    if level != privileges.PUBLIC:
        statuses[401] = statuses[403] = decl.AUTH_ERROR
        statuses[503] = decl.MESSAGE
    if has_body:
        statuses[422] = decl.AREA_ERROR
        statuses[413] = decl.MESSAGE
    if rule.arguments or not view.__module__.startswith("portald."):
        statuses[404] = decl.MESSAGE
    if not view.__module__.startswith("portald."):  # a plugin's: the hardware or the OS may refuse
        statuses[422] = decl.AREA_ERROR
    if websocket:
        statuses[101] = None
        statuses[400] = statuses[426] = decl.MESSAGE
    statuses.update(declared)
    responses = {}
    for status in sorted(statuses):
        response: dict[str, Any] = {"description": _REASONS.get(status, str(status))}
        content = _content(statuses[status])
        if streams and not websocket and status == 200 and statuses[200] == decl.JSON:
            content = {**(content or {}), **_content("text/event-stream")}
            response["description"] = "OK: JSON, or with Accept: text/event-stream a stream of this resource"
        if content:
            response["content"] = content
        responses[str(status)] = response
    return responses
