"""JWT in compact JWS form, signed ES256 (ECDSA on P-256 with SHA-256, RFC 7515 and 7518): making a
token and checking one, with the OpenSSL the process already has.

Why not PyJWT: for ES256 it needs the ``cryptography`` package, whose import costs the daemon ~9 MB of
resident memory for good (its Rust extension) — more than the rest of the auth code together. The
libcrypto that Python's ``ssl`` module is linked against is mapped into the process anyway (gevent
patches ``ssl`` at start), so signing and verifying through it with ``ctypes`` costs nothing extra.
Where that libcrypto cannot be used (not OpenSSL 3, or ``ssl`` linked statically), the same
operations go through ``cryptography`` instead. Tokens are interchangeable with PyJWT's (the tests
check both ways), and ``GET /auth/certificate`` lets anyone verify them offline.

What ``decode`` accepts, and nothing else: three base64url parts; a header object whose ``alg`` is
``ES256`` (and no ``crit``); a 64-byte signature (r || s) valid for ``header.payload`` under the key; a payload object
with every required claim, a numeric ``exp`` in the future, and ``nbf``/``iat``, when present, numeric
(``nbf`` not in the future).
"""
from __future__ import annotations

import base64
import binascii
import ctypes
import json
import math
import re
import time
from typing import Any

HEADER = {"alg": "ES256", "typ": "JWT"}
_B64URL = re.compile(rb"[A-Za-z0-9_-]*")
_SIGNATURE_BYTES = 64  # r || s, 32 bytes each


class InvalidToken(Exception):
    """The token is malformed, not ours, expired or otherwise unacceptable (the message says which)."""


# --- the token format ------------------------------------------------------------------------------

def _b64encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64decode(part: bytes) -> bytes:
    # urlsafe_b64decode would silently skip characters outside the alphabet
    if not _B64URL.fullmatch(part) or len(part) % 4 == 1:
        raise InvalidToken("invalid base64url")
    try:
        return base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))
    except binascii.Error:
        raise InvalidToken("invalid base64url") from None


def _json_object(part: bytes, what: str) -> dict:
    try:
        value = json.loads(_b64decode(part))
    except (ValueError, UnicodeDecodeError):
        raise InvalidToken(f"invalid {what}") from None
    if not isinstance(value, dict):
        raise InvalidToken(f"invalid {what}")
    return value


def encode(claims: dict[str, Any], key: "ES256Key") -> str:
    signing_input = (_b64encode(json.dumps(HEADER, separators=(",", ":")).encode()) + b"."
                     + _b64encode(json.dumps(claims, separators=(",", ":")).encode()))
    return (signing_input + b"." + _b64encode(key.sign(signing_input))).decode("ascii")


def decode(token: str, key: "ES256Key", required: tuple[str, ...] = (), now: float | None = None) -> dict:
    """The claims of a token ``key`` signed; ``InvalidToken`` for anything else."""
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidToken("invalid token") from None
    parts = raw.split(b".")
    if len(parts) != 3:
        raise InvalidToken("not a compact JWS")
    header = _json_object(parts[0], "header")
    if header.get("alg") != "ES256":
        raise InvalidToken("the algorithm is not ES256")
    if "crit" in header:  # extensions we would have to understand (RFC 7515, 4.1.11): we understand none
        raise InvalidToken("unsupported critical header extension")
    signature = _b64decode(parts[2])
    if len(signature) != _SIGNATURE_BYTES or not key.verify(parts[0] + b"." + parts[1], signature):
        raise InvalidToken("signature verification failed")
    claims = _json_object(parts[1], "payload")
    missing = [name for name in required if name not in claims]
    if missing:
        raise InvalidToken(f"token is missing the {', '.join(missing)} claim")
    now = time.time() if now is None else now
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidToken(f"{name} must be a number")
    if "exp" not in claims or claims["exp"] <= now:
        raise InvalidToken("signature has expired")
    if claims.get("nbf", now) > now:
        raise InvalidToken("the token is not yet valid (nbf)")
    return claims


# --- ECDSA signatures: JWS wants r || s, OpenSSL speaks DER ------------------------------------------

def _der_length(data: bytes, at: int) -> tuple[int, int]:
    if at >= len(data) or data[at] >= 0x80:  # P-256 signatures are far below 128 bytes
        raise ValueError("unexpected DER length")
    return data[at], at + 1


def der_to_raw(der: bytes) -> bytes:
    """``ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`` to r || s (32 bytes each)."""
    if not der or der[0] != 0x30:
        raise ValueError("not a DER sequence")
    length, at = _der_length(der, 1)
    if at + length != len(der):
        raise ValueError("bad DER sequence length")
    out = b""
    for _ in range(2):
        if at >= len(der) or der[at] != 0x02:
            raise ValueError("not a DER integer")
        length, at = _der_length(der, at + 1)
        value = int.from_bytes(der[at:at + length], "big")
        at += length
        if value.bit_length() > 256:
            raise ValueError("DER integer too large for P-256")
        out += value.to_bytes(32, "big")
    if at != len(der):
        raise ValueError("trailing bytes after the DER signature")
    return out


def raw_to_der(raw: bytes) -> bytes:
    body = b""
    for half in (raw[:32], raw[32:]):
        value = int.from_bytes(half, "big")
        encoded = value.to_bytes(value.bit_length() // 8 + 1, "big")  # a leading 0 keeps it positive
        body += b"\x02" + bytes([len(encoded)]) + encoded
    return b"\x30" + bytes([len(body)]) + body


# --- keys ------------------------------------------------------------------------------------------

class ES256Key:
    """A P-256 key: ``private(pem)`` signs (and verifies), ``public(cert_pem)`` only verifies."""

    @staticmethod
    def private(pem: bytes) -> "ES256Key":
        lib = _openssl()
        return _OpenSSLKey(lib, pem, private=True) if lib else _CryptographyKey(pem, private=True)

    @staticmethod
    def public(certificate_pem: bytes) -> "ES256Key":
        lib = _openssl()
        return _OpenSSLKey(lib, certificate_pem, private=False) if lib else _CryptographyKey(certificate_pem,
                                                                                             private=False)

    def sign(self, data: bytes) -> bytes:
        raise NotImplementedError

    def verify(self, data: bytes, signature: bytes) -> bool:
        raise NotImplementedError


class _CryptographyKey(ES256Key):
    def __init__(self, pem: bytes, private: bool):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self._ec, self._hash = ec, hashes.SHA256()
        if private:
            self._key = serialization.load_pem_private_key(pem, None)
            public = self._key.public_key()
        else:
            self._key = None
            public = x509.load_pem_x509_certificate(pem).public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
            raise ValueError("not a P-256 key")
        self._public = public

    def sign(self, data: bytes) -> bytes:
        if self._key is None:
            raise ValueError("a public key cannot sign")
        return der_to_raw(self._key.sign(data, self._ec.ECDSA(self._hash)))

    def verify(self, data: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature

        try:
            self._public.verify(raw_to_der(signature), data, self._ec.ECDSA(self._hash))
        except InvalidSignature:
            return False
        return True


class _OpenSSLKey(ES256Key):
    def __init__(self, lib: "_LibCrypto", pem: bytes, private: bool):
        self._lib, self._private = lib, private
        self._pkey = lib.load_private_key(pem) if private else lib.load_certificate_key(pem)
        if self._pkey is None:
            raise ValueError("cannot read the key")
        if lib.group_name(self._pkey) != "prime256v1":
            lib.EVP_PKEY_free(self._pkey)
            self._pkey = None
            raise ValueError("not a P-256 key")

    def __del__(self):
        if getattr(self, "_pkey", None):
            try:
                self._lib.EVP_PKEY_free(self._pkey)
            except Exception:  # at interpreter exit ctypes may be half torn down; the OS frees it anyway
                pass

    def sign(self, data: bytes) -> bytes:
        if not self._private:
            raise ValueError("a public key cannot sign")
        return der_to_raw(self._lib.sign(self._pkey, data))

    def verify(self, data: bytes, signature: bytes) -> bool:
        return self._lib.verify(self._pkey, data, raw_to_der(signature))


class _LibCrypto:
    """The few libcrypto (OpenSSL 3) calls ES256 needs, typed for ctypes."""

    def __init__(self, path: str):
        lib = ctypes.CDLL(path)
        p, i, sz = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
        for name, restype, argtypes in (
                ("BIO_new_mem_buf", p, (ctypes.c_char_p, i)),
                ("BIO_free", i, (p,)),
                ("PEM_read_bio_PrivateKey", p, (p, p, p, p)),
                ("PEM_read_bio_X509", p, (p, p, p, p)),
                ("X509_get_pubkey", p, (p,)),
                ("X509_free", None, (p,)),
                ("EVP_PKEY_free", None, (p,)),
                ("EVP_PKEY_get_group_name", i, (p, ctypes.c_char_p, sz, ctypes.POINTER(sz))),
                ("EVP_MD_CTX_new", p, ()),
                ("EVP_MD_CTX_free", None, (p,)),
                ("EVP_sha256", p, ()),
                ("EVP_DigestSignInit", i, (p, p, p, p, p)),
                ("EVP_DigestSign", i, (p, ctypes.c_char_p, ctypes.POINTER(sz), ctypes.c_char_p, sz)),
                ("EVP_DigestVerifyInit", i, (p, p, p, p, p)),
                ("EVP_DigestVerify", i, (p, ctypes.c_char_p, sz, ctypes.c_char_p, sz)),
                ("ERR_clear_error", None, ())):
            function = getattr(lib, name)  # AttributeError: not OpenSSL 3
            function.restype, function.argtypes = restype, argtypes
            setattr(self, name, function)

    def _read_pem(self, pem: bytes, reader) -> int | None:
        bio = self.BIO_new_mem_buf(pem, len(pem))
        if not bio:
            raise MemoryError("BIO_new_mem_buf")
        try:
            return reader(bio, None, None, None) or None
        finally:
            self.BIO_free(bio)
            self.ERR_clear_error()  # leave no error behind for the ssl module to trip over

    def load_private_key(self, pem: bytes) -> int | None:
        return self._read_pem(pem, self.PEM_read_bio_PrivateKey)

    def load_certificate_key(self, pem: bytes) -> int | None:
        cert = self._read_pem(pem, self.PEM_read_bio_X509)
        if cert is None:
            return None
        try:
            return self.X509_get_pubkey(cert) or None
        finally:
            self.X509_free(cert)

    def group_name(self, pkey: int) -> str:
        name, size = ctypes.create_string_buffer(64), ctypes.c_size_t()
        if self.EVP_PKEY_get_group_name(pkey, name, len(name), ctypes.byref(size)) != 1:
            self.ERR_clear_error()
            return ""
        return name.value.decode()

    def sign(self, pkey: int, data: bytes) -> bytes:
        ctx = self.EVP_MD_CTX_new()
        if not ctx:
            raise MemoryError("EVP_MD_CTX_new")
        try:
            signature, size = ctypes.create_string_buffer(80), ctypes.c_size_t(80)  # DER P-256: <= 72
            if (self.EVP_DigestSignInit(ctx, None, self.EVP_sha256(), None, pkey) != 1
                    or self.EVP_DigestSign(ctx, signature, ctypes.byref(size), data, len(data)) != 1):
                self.ERR_clear_error()
                raise ValueError("ECDSA signing failed")
            return signature.raw[:size.value]
        finally:
            self.EVP_MD_CTX_free(ctx)

    def verify(self, pkey: int, data: bytes, der: bytes) -> bool:
        ctx = self.EVP_MD_CTX_new()
        if not ctx:
            raise MemoryError("EVP_MD_CTX_new")
        try:
            ok = (self.EVP_DigestVerifyInit(ctx, None, self.EVP_sha256(), None, pkey) == 1
                  and self.EVP_DigestVerify(ctx, der, len(der), data, len(data)) == 1)
            if not ok:
                self.ERR_clear_error()
            return ok
        finally:
            self.EVP_MD_CTX_free(ctx)


_LIB: list = []  # [the _LibCrypto, or None when unusable], filled on first use


def _openssl() -> _LibCrypto | None:
    """The libcrypto that the ``ssl`` module uses, when it is OpenSSL 3 and a shared library."""
    if not _LIB:
        lib = None
        try:
            import _ssl  # noqa: F401  (maps libcrypto, if ssl is linked dynamically)

            with open("/proc/self/maps") as maps:
                paths = {line.split()[-1] for line in maps if "/libcrypto.so" in line}
            if len(paths) == 1:
                lib = _LibCrypto(paths.pop())
        except (OSError, AttributeError, ImportError):
            lib = None
        _LIB.append(lib)
    return _LIB[0]
