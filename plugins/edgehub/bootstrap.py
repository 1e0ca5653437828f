"""``PUT /edgehub/api/bootstrap/config {"tenantToken"}``: mass deployment (enrolment).

The tenant token (a JWT issued by the fleet's mass-deployment service) is checked for shape, stored
0600 (``bootstrap.json``, never logged), and used at once: ``POST {provisioning_url}`` with
``Authorization: Bearer <tenantToken>`` and ``{"mac", "deviceId", "model"}`` as the body. The answer must
be a connection setting (either shape of ``POST /edgehub/api/conncfg``); it is stored like one and the
link is enabled. Anything else — no ``provisioning_url`` configured, a malformed token, a refusal, an
unreachable service, an answer that is not a connection setting — is ``EnrolmentFailed`` with a message
for the client (answered 422). The spec does not describe the provisioning service: this request and
answer are portald's, documented in the README.
"""
from __future__ import annotations

import base64
import binascii
import json
import urllib.error
import urllib.parse
import urllib.request

from . import conncfg as cc

FILE = "bootstrap.json"


class EnrolmentFailed(Exception):
    pass


def check_token(token) -> str:
    if not isinstance(token, str) or not token or len(token) > 16384:
        raise EnrolmentFailed('"tenantToken" must be a non-empty string')
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        if not isinstance(header, dict) or "alg" not in header:
            raise ValueError
    except (ValueError, binascii.Error):
        raise EnrolmentFailed('"tenantToken" is not a tenant access token (a JWT)') from None
    return token


def enrol(url: str, token: str, device: dict, timeout: float) -> cc.ConnCfg:
    if not url:
        raise EnrolmentFailed("mass deployment is not set up on this device ([plugins.edgehub] provisioning_url)")
    request = urllib.request.Request(url, data=json.dumps(device).encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"})
    where = urllib.parse.urlsplit(url).netloc
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read(1 << 20))
    except urllib.error.HTTPError as exc:
        reason = _message(exc)
        raise EnrolmentFailed(f"the provisioning service {where} refused the token: HTTP {exc.code}"
                              + (f": {reason}" if reason else "")) from None
    except (OSError, ValueError) as exc:
        raise EnrolmentFailed(f"the provisioning service {where} did not answer: {exc}") from None
    try:
        return cc.parse(answer)
    except cc.InvalidConnCfg as exc:
        raise EnrolmentFailed(f"the provisioning service {where} answered no connection setting: {exc}") from None


def _message(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read(4096))
        return str(body.get("message", ""))[:200] if isinstance(body, dict) else ""
    except (OSError, ValueError):
        return ""
