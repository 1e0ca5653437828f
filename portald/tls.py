"""Keys and self-signed certificates: the HTTPS server's certificate and the JWT signing certificate that
``GET /auth/certificate`` serves. Private keys are written 0600.

Making a pair needs the ``cryptography`` package, and importing it costs a process ~9 MB of resident
memory for good (its Rust extension) — for something done once, at the first start. So the daemon
makes a missing pair in a child (``python -m portald.tls``) and only ever reads PEM files itself. The
HTTPS pair's child starts as soon as the pair is known to be missing and runs while the daemon goes
on starting, so a first start costs about what a restart does; the JWT signer's is made when the first
token is issued or checked (~0.1 s, once). A process that
has imported ``cryptography`` anyway makes the pair in-process. An existing pair is checked with the
``ssl`` module, which is loaded anyway: it parses both files and checks that the key belongs to the
certificate.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import os
import socket
import sys

from .state import StateStore

log = logging.getLogger("portald")
CHILD_TIMEOUT = 60.0


class KeyPair:
    """A key and its self-signed certificate in ``store``: read when present and usable, else made
    anew (``sans`` are host names and IP addresses) by a child — started right away with ``early``
    (the pair is needed before the daemon serves), else when ``pem()`` is first asked."""

    def __init__(self, store: StateStore, key_name: str, cert_name: str, common_name: str,
                 sans: list[str] | None = None, days: int = 3650, early: bool = False):
        self.store, self.key_name, self.cert_name = store, key_name, cert_name
        self._request = {"common_name": common_name, "sans": list(sans or []), "days": days}
        self._pem: tuple[bytes, bytes] | None = None
        self._child = None
        from gevent.lock import Semaphore  # (not at the top: the child, python -m portald.tls, needs no gevent)

        self._making = Semaphore()  # two greenlets asking at once wait for one child
        key_pem, cert_pem = store.read_bytes(key_name), store.read_bytes(cert_name)
        if key_pem and cert_pem:
            if pair_is_usable(store, key_name, cert_name):
                self._pem = key_pem, cert_pem
                return
            # a damaged pair is made anew: for the JWT signer that ends every session (clients log
            # in again), for TLS clients see a new self-signed certificate — both better than no daemon
            log.error("%s / %s are damaged; generating a new pair", key_name, cert_name)
        if early:
            self._start()

    def _start(self) -> None:
        if "cryptography" in sys.modules:
            return  # made in-process by pem(): the memory is spent already
        from gevent import subprocess

        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        try:
            self._child = subprocess.Popen([sys.executable, "-m", "portald.tls", json.dumps(self._request)],
                                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           env=env, text=True)
        except OSError as exc:
            log.warning("cannot start a child to make %s (%s); making it here", self.key_name, exc.strerror)

    def _from_child(self) -> tuple[bytes, bytes] | None:
        child, self._child = self._child, None
        try:
            out, err = child.communicate(timeout=CHILD_TIMEOUT)
            if child.returncode == 0:
                made = json.loads(out)
                return made["key"].encode(), made["cert"].encode()
            reason = (err.strip().splitlines() or [f"exit status {child.returncode}"])[-1]
        except Exception as exc:  # a timeout, a broken pipe, garbage on stdout: make it here instead
            child.kill()
            child.wait()
            reason = f"{type(exc).__name__}: {exc}"
        log.warning("making %s in a child process failed (%s); making it here", self.key_name, reason)
        return None

    def pem(self) -> tuple[bytes, bytes]:
        """(key PEM, cert PEM), waiting for the child that makes them, if any."""
        with self._making:
            if self._pem is None:
                if self._child is None:
                    self._start()
                made = self._from_child() if self._child is not None else None
                key_pem, cert_pem = made or generate(**self._request)
                self.store.write_bytes(self.key_name, key_pem, secret=True)
                self.store.write_bytes(self.cert_name, cert_pem)
                self._pem = key_pem, cert_pem
        return self._pem

    def remake(self) -> tuple[bytes, bytes]:
        """Replace the pair with a new one, now (a pair that parsed but does not fit its use)."""
        self._pem = None
        return self.pem()


def pair_is_usable(store: StateStore, key_name: str, cert_name: str) -> bool:
    import ssl

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
    """The child: ``generate``'s arguments as JSON in argv[1], {"key", "cert"} PEMs on stdout."""
    key_pem, cert_pem = generate(**json.loads(sys.argv[1]))
    json.dump({"key": key_pem.decode(), "cert": cert_pem.decode()}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
