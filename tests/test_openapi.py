"""``GET /openapi.json`` and ``GET /docs``: the document is valid OpenAPI 3.1, covers every rule of Flask's
URL map (a drop-in plugin's too) with the security of the privilege table, the request models the routes
parse, the event streams and WebSockets; the docs page is served from this origin only."""
from __future__ import annotations

import ast
import inspect
import os
import re
import textwrap
import time

import pytest
from openapi_spec_validator import validate

from portald import openapi, openapi_docs
from portald.auth import privileges

from conftest import write_dropin
from test_server import ADMIN_NEW, Daemon

CHROMIUM = "/usr/bin/chromium"

DROPIN = '''
"""An OEM's single-file plugin with a route of its own and a body model."""
from flask import Blueprint, jsonify
from portald.hookspecs import hookimpl
from portald.openapi_decl import accepts
from portald.validation import Body, parse_body


class BeepBody(Body):
    count: int


class LedBody(Body):  # the LED plugin's model has this name too
    colour: str


@hookimpl
def portald_blueprints(ctx):
    bp = Blueprint("acme_beeper", __name__, url_prefix="/acme/api")

    @bp.put("/beeper/<int:channel>")
    @accepts(BeepBody)
    def beep(channel):
        return jsonify({"channel": channel, "count": parse_body(BeepBody).count})

    @bp.put("/led")
    @accepts(LedBody)
    def led():
        return jsonify({"colour": parse_body(LedBody).colour})

    return [bp]
'''


def _path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


@pytest.fixture
def dropin_app(make_app, tmp_path):
    write_dropin(tmp_path, "acme_beeper", DROPIN)
    return make_app()


def test_document_is_valid_openapi_3_1_and_public(dropin_app):
    response = dropin_app.test_client().get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_document_covers_every_rule_of_the_url_map_with_its_privilege(dropin_app):
    document = openapi.document(dropin_app)
    covered = set()
    for rule, method, level in privileges.table(dropin_app):  # every rule but Flask's static one
        operation = document["paths"][_path(rule)][method.lower()]
        assert operation["x-privilege"] == level, (rule, method)
        if level == privileges.PUBLIC:
            assert operation["security"] == [], (rule, method)
        else:
            assert operation.get("security", document["security"]), (rule, method)
            for status in ("401", "403"):
                assert operation["responses"][status]["content"]["application/json"]["schema"] == \
                    {"$ref": "#/components/schemas/AuthError"}, (rule, method)
        covered.add((_path(rule), method.lower()))
    assert len(covered) > 80 and ("/acme/api/beeper/{channel}", "put") in covered
    operations = {(path, m) for path, item in document["paths"].items() for m in item if m != "parameters"}
    assert operations == covered, "the document has operations the URL map does not"


def test_dropin_plugin_route_appears_with_its_body_model_and_path_parameter(dropin_app):
    assert not [p for p in dropin_app.extensions["portald"].host.status()["plugins"] if p["state"] == "failed"]
    document = openapi.document(dropin_app)
    item = document["paths"]["/acme/api/beeper/{channel}"]
    assert item["parameters"] == [{"name": "channel", "in": "path", "required": True, "schema": {"type": "integer"}}]
    operation = item["put"]
    assert operation["x-privilege"] == privileges.ADMIN  # an undeclared write
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/BeepBody"}
    model = document["components"]["schemas"]["BeepBody"]
    assert model["properties"]["count"]["type"] == "integer" and model["additionalProperties"] is False
    assert operation["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/AreaError")
    # two models named LedBody, the LED plugin's and this one's: each keeps its own schema
    refs = {document["paths"][path]["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            for path in ("/acme/api/led", "/platform/api/perif/led/{raw_id}")}
    schemas = [document["components"]["schemas"][ref.rsplit("/", 1)[1]] for ref in refs]
    assert len(refs) == 2 and {tuple(schema["properties"]) for schema in schemas} == {("colour",), ("status",)}


def test_every_view_that_parses_a_body_declares_its_model(app):
    """``parse_body(Model)`` in a view (or a helper it calls with the model) needs ``@accepts(Model)``:
    the document's request body comes from that declaration."""
    missing = []
    for endpoint, view in app.view_functions.items():
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(view)))
        except (OSError, TypeError):
            continue
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
        names = {ast.unparse(call.args[0]) for call in calls if call.args and
                 ast.unparse(call.func) in ("parse_body", "_body") and ast.unparse(call.args[0])[:1].isupper()}
        declared = getattr(view, "portald_body", None)
        for name in names:
            if declared is None or declared[0].__name__ != name.rsplit(".", 1)[-1]:
                missing.append((endpoint, name))
    assert not missing


def test_security_schemes_and_the_query_token_only_on_streams(app):
    document = openapi.document(app)
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert (schemes["cookie"]["in"], schemes["cookie"]["name"]) == ("cookie", "jwt")
    assert (schemes["token"]["in"], schemes["token"]["name"]) == ("query", "token")
    with_token = {(path, m) for path, item in document["paths"].items() for m, op in item.items()
                  if m != "parameters" and {"token": []} in op.get("security", [])}
    assert ("/platform/api/events", "get") in with_token and ("/platform/api/term/ws", "get") in with_token
    assert ("/platform/api/perif/led", "get") not in with_token


def test_event_streams_and_websockets_are_described_as_such(app):
    paths = openapi.document(app)["paths"]
    hwmon = paths["/platform/api/hwmon"]["get"]["responses"]["200"]["content"]
    assert set(hwmon) == {"application/json", "text/event-stream"}
    events = paths["/platform/api/events"]["get"]
    assert set(events["responses"]["200"]["content"]) == {"text/event-stream"}
    assert [p["name"] for p in events["parameters"]] == ["events"]
    term = paths["/platform/api/term/ws"]["get"]
    assert term["x-websocket"] is True and "101" in term["responses"] and "426" in term["responses"]
    assert "x-websocket" not in paths["/platform/api/hwmon"]["get"]


def test_error_shapes_and_declared_answers(app):
    document = openapi.document(app)
    schemas = document["components"]["schemas"]
    assert schemas["AuthError"]["required"] == ["Code", "Message"]
    assert schemas["AreaError"]["required"] == ["errors"] and schemas["MessageError"]["required"] == ["message"]
    paths = document["paths"]
    login = paths["/auth/login"]["post"]["responses"]
    assert login["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/CodeMessageError")
    assert login["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/AuthError")
    assert set(paths["/platform/api/ping"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
    display = paths["/platform/api/control/display"]["get"]["responses"]
    assert "200" not in display and "content" not in display["204"] and "404" in display
    led = paths["/platform/api/perif/led/{raw_id}"]["get"]["responses"]
    assert "400" in led and "404" in led and "422" in led


def test_document_is_built_once_per_app(app):
    client = app.test_client()
    assert client.get("/openapi.json").get_json() is not None
    assert openapi.document(app) is app.extensions[openapi.CACHE_KEY]


def test_docs_page_references_only_local_assets_and_they_are_served(app):
    if not (openapi_docs.DIST / "index.html").is_file():
        pytest.fail("the docs UI is not built: run `make docs-ui` (make test does it)")
    client = app.test_client()
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "http" not in csp and "unsafe" not in csp
    html = page.get_data(as_text=True)
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(ref.startswith("/docs/") for ref in refs), refs
    for ref in refs:
        asset = client.get(ref, headers={"Accept-Encoding": "gzip"})
        assert asset.status_code == 200, ref
        if asset.mimetype != "image/png":
            assert asset.headers["Content-Encoding"] == "gzip" and asset.mimetype in ("text/javascript", "text/css"), ref
        again = client.get(ref, headers={"Accept-Encoding": "gzip", "If-None-Match": asset.headers["ETag"]})
        assert again.status_code == 304, ref
    script = client.get("/docs/portald-docs.js").get_data(as_text=True)
    assert '"/openapi.json"' in script and "validatorUrl: null" in script
    assert client.get("/docs/../openapi.py").status_code == 404
    assert client.get("/docs/index.html.gz").status_code == 404


def test_docs_not_built_is_a_404_message_not_a_500(tmp_path):
    from flask import Flask

    bare = Flask("t")
    bare.register_blueprint(openapi_docs.blueprint(tmp_path / "nothing"))
    from portald import errors

    errors.install(bare)
    for url in ("/docs", "/docs/swagger-ui-bundle.js"):
        response = bare.test_client().get(url)
        assert response.status_code == 404, url
        assert "make docs-ui" in response.get_json()["message"]


def test_docs_page_in_a_browser_logs_in_and_tries_a_call(tmp_path):
    """Debian's chromium (headless, off the network) opens /docs, logs in with the page's form and runs
    "Try it out" on a protected route: 200, nothing fetched from another origin, no CSP violation."""
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does it)")
    if not (openapi_docs.DIST / "index.html").is_file():
        pytest.fail("the docs UI is not built: run `make docs-ui` (make test does it)")
    daemon = Daemon(tmp_path, http=True)
    try:
        daemon.admin_token()  # the factory password changed first
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=127.0.0.1"])
            try:
                page = browser.new_page()
                problems, foreign = [], []
                page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
                page.on("pageerror", lambda exc: problems.append(str(exc)))
                page.on("request", lambda req: None if req.url.startswith(daemon.url) else foreign.append(req.url))
                page.goto(daemon.url + "/docs")
                page.wait_for_selector(".opblock", timeout=15_000)
                page.fill("input[name=password]", ADMIN_NEW)
                page.click("#portald-login-form button[type=submit]")
                deadline = time.monotonic() + 10
                while not (page.text_content("#portald-login-status") or "").startswith("logged in"):
                    assert time.monotonic() < deadline, page.text_content("#portald-login-status")
                    time.sleep(0.05)
                operation = page.locator("#operations-rest_server-rest_server_plugins_get")
                operation.locator(".opblock-summary").click()
                operation.locator("button.execute").click()
                status = operation.locator(".live-responses-table tbody .response-col_status").first
                status.wait_for(timeout=10_000)
                assert status.text_content().strip() == "200"
                assert "Bearer" in operation.locator(".curl-command").text_content()
                assert not foreign and not problems, (foreign, problems)
            finally:
                browser.close()
    finally:
        daemon.stop()
