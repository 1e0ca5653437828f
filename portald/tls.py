"""Keys and self-signed certificates: the HTTPS server's certificate and the JWT signing certificate that
``GET /auth/certificate`` serves. Private keys are written 0600.

Making a pair needs the ``cryptography`` package, and importing it costs a process ~9 MB of resident
memory for good (its Rust extension) — for something done once, at the first start. So the daemon
makes a missing pair in a short-lived child (``python -m portald.tls``, ~0.1 s) and only ever reads
PEM files itself; a process that has imported ``cryptography`` anyway makes it in-process. An existing
pair is checked with the ``ssl`` module, which is loaded anyway: it parses both files and checks that
the key belongs to the certificate.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import os
import socket
import ssl
import sys

from .state import StateStore

log = logging.getLogger("portald")


def ensure_key_and_cert(store: StateStore, key_name: str, cert_name: str, common_name: str,
                        sans: list[str] | None = None, days: int = 3650) -> tuple[bytes, bytes]:
    """Load the key and certificate pair, creating both at first use. ``sans`` are host names and IP
    addresses. Returns (key PEM, cert PEM)."""
    key_pem, cert_pem = store.read_bytes(key_name), store.read_bytes(cert_name)
    if key_pem and cert_pem:
        if pair_is_usable(store, key_name, cert_name):
            return key_pem, cert_pem
        # a damaged pair is made anew: for the JWT signer that ends every session (clients log
        # in again), for TLS clients see a new self-signed certificate — both better than no daemon
        log.error("%s / %s are damaged; generating a new pair", key_name, cert_name)
    return make_key_and_cert(store, key_name, cert_name, common_name, sans, days)


def make_key_and_cert(store: StateStore, key_name: str, cert_name: str, common_name: str,
                      sans: list[str] | None = None, days: int = 3650) -> tuple[bytes, bytes]:
    """Make a new pair (replacing any) and write it to ``store``. Returns (key PEM, cert PEM)."""
    request = {"common_name": common_name, "sans": list(sans or []), "days": days}
    key_pem, cert_pem = _in_child(request) if "cryptography" not in sys.modules else (None, None)
    if key_pem is None:
        key_pem, cert_pem = generate(**request)
    store.write_bytes(key_name, key_pem, secret=True)
    store.write_bytes(cert_name, cert_pem)
    return key_pem, cert_pem


def pair_is_usable(store: StateStore, key_name: str, cert_name: str) -> bool:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(store.path(cert_name)), str(store.path(key_name)))
    except (ssl.SSLError, ValueError, OSError):
        return False
    return True


def server_names() -> list[str]:
    """What the generated HTTPS certificate is valid for: localhost, the loopback addresses, the host name."""
    names = ["localhost", "127.0.0.1", "::1"]
    host = socket.gethostname()
    if host and host != "localhost":
        names.append(host)
    return names


def _in_child(request: dict) -> tuple[bytes | None, bytes | None]:
    """``generate(**request)`` in a child process; (None, None) when that did not work."""
    from .runner import CommandFailed, CommandRunner

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    try:
        result = CommandRunner().run([sys.executable, "-m", "portald.tls"], timeout=60,
                                     input_text=json.dumps(request), env=env)
        if result.ok:
            made = json.loads(result.stdout)
            return made["key"].encode(), made["cert"].encode()
        reason = result.stderr.strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
    except (CommandFailed, ValueError, KeyError) as exc:
        reason = [str(exc)]
    log.warning("making a key pair in a child process failed (%s); making it here", reason[0])
    return None, None


def generate(common_name: str, sans: list[str], days: int) -> tuple[bytes, bytes]:
    """A new P-256 key and a self-signed certificate for it: (key PEM, cert PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "portald"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([_general_name(x509, n) for n in sans]),
                                        critical=False)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _general_name(x509, name: str):
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def main() -> int:
    """The child: a JSON request on stdin (``generate``'s arguments), {"key", "cert"} PEMs on stdout."""
    key_pem, cert_pem = generate(**json.load(sys.stdin))
    json.dump({"key": key_pem.decode(), "cert": cert_pem.decode()}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
