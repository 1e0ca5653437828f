"""Request-body handling: strict models, JSON depth and size limits, never a 500."""
from __future__ import annotations

from portald.validation import json_depth_exceeds


def test_depth_scanner_ignores_brackets_in_strings():
    assert not json_depth_exceeds('{"a": "[[[[[[[[[["}', 3)
    assert json_depth_exceeds("[[[[1]]]]", 3)
    assert not json_depth_exceeds("[[[1]]]", 3)
    assert not json_depth_exceeds(r'{"a": "\"[[[["}', 2)


def test_deeply_nested_body_is_422_not_500(client):
    body = "[" * 100000 + "]" * 100000
    response = client.post("/auth/login?m=2", data=body, content_type="application/json")
    assert response.status_code == 422
    assert "deeply" in response.get_json()["errors"]["validator"]


def test_oversized_body_is_413_message(make_app):
    client = make_app(server={"max_body_bytes": 2048}).test_client()
    response = client.post("/auth/login?m=2", data="x" * 5000, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == {"message": "request body too large"}


def test_bool_is_not_a_string_and_null_is_rejected(client):
    for body in ({"username": True, "password": "x"}, {"username": None, "password": "x"},
                 {"username": "admin", "password": ["p"]}):
        response = client.post("/auth/login?m=2", json=body)
        assert response.status_code == 422, body
