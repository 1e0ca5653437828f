"""Keys and self-signed certificates made with ``cryptography``: the HTTPS server's certificate and the
JWT signing certificate that ``GET /auth/certificate`` serves. Private keys are written 0600."""
from __future__ import annotations

import datetime as dt
import logging
import ipaddress
import socket

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .state import StateStore

log = logging.getLogger("portald")


def _self_signed(key: ec.EllipticCurvePrivateKey, common_name: str, sans: list[x509.GeneralName],
                 days: int) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "portald"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key, hashes.SHA256())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def ensure_key_and_cert(store: StateStore, key_name: str, cert_name: str, common_name: str,
                        sans: list[x509.GeneralName] | None = None, days: int = 3650) -> tuple[bytes, bytes]:
    """Load the key and certificate pair, creating both at first use. Returns (key PEM, cert PEM)."""
    key_pem, cert_pem = store.read_bytes(key_name), store.read_bytes(cert_name)
    if key_pem and cert_pem:
        try:
            serialization.load_pem_private_key(key_pem, None)
            x509.load_pem_x509_certificate(cert_pem)
            return key_pem, cert_pem
        except ValueError:
            # a damaged pair is made anew: for the JWT signer that ends every session (clients log
            # in again), for TLS clients see a new self-signed certificate — both better than no daemon
            log.error("%s / %s are damaged; generating a new pair", key_name, cert_name)
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = _pem_key(key)
    cert_pem = _self_signed(key, common_name, sans or [], days).public_bytes(serialization.Encoding.PEM)
    store.write_bytes(key_name, key_pem, secret=True)
    store.write_bytes(cert_name, cert_pem)
    return key_pem, cert_pem


def server_names() -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost"),
                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                     x509.IPAddress(ipaddress.ip_address("::1"))]
    host = socket.gethostname()
    if host and host != "localhost":
        names.append(x509.DNSName(host))
    return names
