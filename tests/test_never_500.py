"""No input makes any route answer 500 (internal error): every route of the URL map, on the sim board, with hostile
path parameters and bodies, as an administrator (so requests get past the guard to the views)."""
from __future__ import annotations

import re

import pytest

from portald.auth import privileges

from conftest import admin_token, bearer

# No small numbers but 0: DELETE /platform/api/processes/<pid> runs for real, and 4194304 is one past
# the largest PID Linux can give (PID_MAX_LIMIT), so no real process is ever signalled here.
PARAMS = ["0", "-1", "4194304", "99999999999999999999999", "abc", "..", "%00", "%2e%2e%2f", "1.5", " 1", "é"]
BODIES = [b"", b"{", b"null", b"[]", b"0", b'"x"', b"{}", b'{"x": 1}', b"[" * 200 + b"]" * 200,
          b'{"status": "on", "value": 1e999, "seconds": -1, "enabled": "yes", "dir": 2, "level": null}',
          b'{"action": "explode", "old": 1, "new": [], "UserSpace1": 5, "password": true}',
          b"\xff\xfe\x00", b'{"' + b"k" * 5000 + b'": 1}', b'{"x": ' + b"9" * 5000 + b'}']


def _paths(rule: str) -> list[str]:
    if "<" not in rule:
        return [rule]
    return [re.sub(r"<(?:[^:>]+:)?[^>]+>", value, rule) for value in PARAMS]


@pytest.mark.parametrize("board", ["sim", "auto"])
def test_no_route_answers_500_to_hostile_input(make_app, board):
    """``auto`` runs on empty fixture roots: every capability without hardware ("not supported")."""
    app = make_app(board=board)
    client = app.test_client()
    headers = {**bearer(admin_token(client)), "Content-Type": "application/json"}
    checked = 0
    statuses: dict[int, int] = {}
    for rule, method, level in privileges.table(app):
        if "/events" in rule or rule.endswith("/ws"):
            continue  # streams: covered by their own tests
        if rule in ("/auth/logout", "/auth/user/admin/password"):
            continue  # would revoke the token this walk uses (covered in test_auth)
        for path in _paths(rule):
            bodies = BODIES if method in ("PUT", "POST", "DELETE") else [b""]
            for body in bodies:
                response = client.open(path, method=method, data=body, headers=headers)
                assert response.status_code != 500, (method, path, body[:40], response.status_code, response.data[:200])
                if level != privileges.PUBLIC:
                    assert response.status_code not in (401, 403), (method, path, response.data[:200])
                if response.status_code >= 400 and response.data:
                    assert response.is_json, (method, path, response.data[:100])
                checked += 1
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    assert checked > 500, statuses
    assert statuses.get(200, 0) > 10 and statuses.get(400, 0) + statuses.get(422, 0) > 100, statuses
