"""JWT in compact JWS form, signed ES256 (ECDSA on P-256 with SHA-256): making a token and checking
one, with PyJWT and ``cryptography`` — well-kept libraries, so the token format, the claim checks and
the signature are code that many eyes have read, not ours.

They are imported with the first token made or checked, not at start: together they cost the daemon
~9.6 MiB of resident memory (cryptography's Rust extension), which a daemon nobody has logged into
does not need. (A binding of the ssl module's libcrypto through ctypes was measured to save those
9.6 MiB; it was not kept: hand-written crypto glue in a network-facing daemon is what a security
review has to audit line by line, and PyJWT is the library the project's design names.)

What ``decode`` accepts, and nothing else: a token whose header's ``alg`` is ``ES256`` (PyJWT is
given only that algorithm, so ``none`` and HMAC-with-the-public-key are refused), with a valid
signature under the key, every ``required`` claim, a numeric ``exp`` in the future, and
``nbf``/``iat`` numeric when present (``nbf`` not in the future). A ``crit`` header is refused: we
understand no extension (RFC 7515, 4.1.11).
"""
from __future__ import annotations

from typing import Any

ALGORITHM = "ES256"


class InvalidToken(Exception):
    """The token is malformed, not ours, expired or otherwise unacceptable (the message says which)."""


class ES256Key:
    """A P-256 key: ``private(pem)`` signs, ``public(certificate_pem)`` verifies. ``ValueError`` for a PEM
    that is not a P-256 key (another curve, another algorithm, garbage)."""

    def __init__(self, key: Any, public: bool):
        self.key, self.public_only = key, public

    @staticmethod
    def private(pem: bytes) -> "ES256Key":
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_pem_private_key(pem, None)
        _check_curve(key.public_key())
        return ES256Key(key, public=False)

    @staticmethod
    def public(certificate_pem: bytes) -> "ES256Key":
        from cryptography import x509

        key = x509.load_pem_x509_certificate(certificate_pem).public_key()
        _check_curve(key)
        return ES256Key(key, public=True)


def _check_curve(public_key) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != "secp256r1":
        raise ValueError("not a P-256 key")


def encode(claims: dict[str, Any], key: ES256Key) -> str:
    import jwt

    if key.public_only:
        raise ValueError("a public key cannot sign")
    return jwt.encode(claims, key.key, algorithm=ALGORITHM)


def decode(token: str, key: ES256Key, required: tuple[str, ...] = ()) -> dict:
    """The claims of a token ``key`` signed; ``InvalidToken`` for anything else."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
        if "crit" in header:
            raise InvalidToken("unsupported critical header extension")
        claims = jwt.decode(token, key.key, algorithms=[ALGORITHM],
                            options={"require": ["exp", *required], "verify_exp": True, "verify_nbf": True,
                                     "verify_iat": True})
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc) or type(exc).__name__) from None
    for name in ("exp", "nbf", "iat"):  # PyJWT takes "1700000000" too; our tokens carry numbers
        value = claims.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidToken(f"{name} must be a number")
    return claims
