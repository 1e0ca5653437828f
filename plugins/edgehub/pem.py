"""``POST /edgehub/api/pem/temp``: check an uploaded PEM file with ``cryptography`` and hand it back as
base64 (what ``caCerts``/``mqttCert``/``mqttKey`` of the connection setting take). Nothing is stored.

The answer's ``type`` is the label of the file's first block (``CERTIFICATE``, ``PRIVATE KEY``,
``EC PRIVATE KEY``, ``RSA PRIVATE KEY``, ``PUBLIC KEY``, ``X509 CRL``...); every block must parse as what
its label says. An encrypted private key cannot be checked without its passphrase and is refused, as is
anything else that is not PEM (``InvalidPem``, answered 422).
"""
from __future__ import annotations

import base64
import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization

MAX_BYTES = 256 * 1024
BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.S)
LOADERS = {
    "CERTIFICATE": x509.load_pem_x509_certificate,
    "X509 CRL": x509.load_pem_x509_crl,
    "CERTIFICATE REQUEST": x509.load_pem_x509_csr,
    "PUBLIC KEY": serialization.load_pem_public_key,
    "RSA PUBLIC KEY": serialization.load_pem_public_key,
    "PRIVATE KEY": lambda data: serialization.load_pem_private_key(data, password=None),
    "RSA PRIVATE KEY": lambda data: serialization.load_pem_private_key(data, password=None),
    "EC PRIVATE KEY": lambda data: serialization.load_pem_private_key(data, password=None),
}


class InvalidPem(ValueError):
    """Not a PEM file portald can check; the message is for the client."""


def check(content: bytes) -> dict:
    """``{"type": <first block's label>, "data": <base64 of the file>}``."""
    if len(content) > MAX_BYTES:
        raise InvalidPem(f"the file is larger than {MAX_BYTES // 1024} KiB")
    blocks = list(BLOCK.finditer(content))
    if not blocks:
        raise InvalidPem("the file holds no PEM block")
    for block in blocks:
        label = block.group(1).decode()
        loader = LOADERS.get(label)
        if loader is None:
            what = f"a {label!r} block"
            if "ENCRYPTED" in label:
                what = "an encrypted private key (its passphrase is needed)"
            raise InvalidPem(f"the file holds {what}, which cannot be used")
        try:
            loader(block.group(0))
        except (ValueError, TypeError) as exc:
            raise InvalidPem(f"a {label} block does not parse: {exc}") from None
    return {"type": blocks[0].group(1).decode(), "data": base64.b64encode(content).decode()}
