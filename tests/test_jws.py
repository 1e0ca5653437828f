"""ES256 tokens (portald.auth.jws, PyJWT underneath): interchangeable with any other ES256 JWT library,
and nothing but a valid ES256 token of ours accepted; key pairs made by a child process."""
from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography import x509

from portald import tls
from portald.auth import jws
from portald.auth.jws import InvalidToken


@pytest.fixture(scope="module")
def pair():
    return tls.generate("test signer", [], 10)


def _claims(**extra) -> dict:
    return {"sub": "admin", "m": 2, "role": "admin", "jti": "j1", "iat": int(time.time()),
            "exp": int(time.time()) + 60, **extra}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_tokens_interoperate_with_pyjwt_both_ways(pair):
    key_pem, cert_pem = pair
    public = x509.load_pem_x509_certificate(cert_pem).public_key()
    ours = jws.encode(_claims(), jws.ES256Key.private(key_pem))
    assert jwt.get_unverified_header(ours)["alg"] == "ES256"
    assert jwt.decode(ours, public, algorithms=["ES256"])["sub"] == "admin"
    theirs = jwt.encode(_claims(), key_pem, algorithm="ES256")
    assert jws.decode(theirs, jws.ES256Key.public(cert_pem), ("sub", "jti"))["jti"] == "j1"


@pytest.mark.parametrize("case", ["tampered", "alg none", "hs256", "expired", "not yet valid", "missing claim",
                                  "string exp", "extra segment", "bad base64", "short signature", "other key",
                                  "crit header", "no exp"])
def test_anything_but_a_valid_token_of_ours_is_refused(pair, case):
    key_pem, cert_pem = pair
    signer, verifier = jws.ES256Key.private(key_pem), jws.ES256Key.public(cert_pem)
    good = jws.encode(_claims(), signer)
    head, body, sig = good.split(".")
    token = {
        "tampered": f"{head}.{_b64(json.dumps(_claims(role='root')).encode())}.{sig}",
        "alg none": jwt.encode(_claims(), None, algorithm="none"),
        "hs256": jwt.encode(_claims(), "s" * 32, algorithm="HS256"),
        "expired": jws.encode(_claims(exp=int(time.time()) - 1), signer),
        "not yet valid": jws.encode(_claims(nbf=int(time.time()) + 60), signer),
        "missing claim": jws.encode({k: v for k, v in _claims().items() if k != "jti"}, signer),
        "string exp": jws.encode(_claims(exp=str(int(time.time()) + 60)), signer),
        "extra segment": good + ".x",
        "bad base64": f"{head}.{body}!.{sig}",
        "short signature": f"{head}.{body}.{_b64(base64.urlsafe_b64decode(sig + '==')[:63])}",
        "other key": jws.encode(_claims(), jws.ES256Key.private(tls.generate("other", [], 1)[0])),
        "crit header": jwt.encode(_claims(), key_pem, algorithm="ES256", headers={"crit": ["exp"]}),
        "no exp": jws.encode({k: v for k, v in _claims().items() if k != "exp"}, signer),
    }[case]
    with pytest.raises(InvalidToken):
        jws.decode(token, verifier, ("sub", "jti"))


def test_a_key_of_another_curve_is_refused():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(ValueError):
        jws.ES256Key.private(p384)
    with pytest.raises(ValueError):
        jws.ES256Key.private(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")


def test_a_missing_pair_is_made_by_a_child_process(tmp_path, monkeypatch, caplog):
    """The daemon never imports cryptography to make its keys: a child does (python -m portald.tls)."""
    from portald.state import StateStore

    monkeypatch.delitem(__import__("sys").modules, "cryptography")  # as in a daemon that never loaded it
    pair = tls.KeyPair(StateStore(tmp_path), "k.pem", "c.pem", "child test", ["localhost", "127.0.0.1"])
    assert pair._child is None  # not early: made when first asked for
    key_pem, cert_pem = pair.pem()
    assert not [r for r in caplog.records if "making it here" in r.getMessage()]  # the child made it
    assert (tmp_path / "k.pem").read_bytes() == key_pem and (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate(cert_pem)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert tls.pair_is_usable(StateStore(tmp_path), "k.pem", "c.pem")
