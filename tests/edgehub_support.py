"""Real components for the EdgeHub tests and bench: a Mosquitto broker (plain, TLS with a test CA and a
CRL, WebSockets) started on free loopback ports, a test PKI made with ``cryptography``, a DCCS stub on
stdlib ``http.server`` and a paho subscriber that records what it receives."""
from __future__ import annotations

import datetime
import json
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {getattr(predicate, '__name__', predicate)}")


@pytest.fixture
def started():
    """``started(thing)``: everything a test starts (brokers, subscribers, daemons, DCCS stubs) is
    closed at its end, last first, also when it failed."""
    things = []

    def add(thing):
        things.append(thing)
        return thing

    yield add
    for thing in reversed(things):
        thing.close()


# -- a test PKI --------------------------------------------------------------------------------------
def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Pki:
    """A CA, a server certificate for 127.0.0.1/localhost, client certificates, and a CRL."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        self._now = now
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_cert = (x509.CertificateBuilder().subject_name(_name("edgehub test CA")).issuer_name(_name("edgehub test CA"))
                        .public_key(self.ca_key.public_key()).serial_number(1)
                        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
                        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
                        .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()), critical=False)
                        .sign(self.ca_key, hashes.SHA256()))
        self.ca_pem = self.ca_cert.public_bytes(serialization.Encoding.PEM).decode()
        self._serial = 10
        self.server_cert, self.server_key = self.issue("localhost", server=True)
        self.revoked: list[int] = []
        self.write("ca.pem", self.ca_pem)
        self.write("server.pem", self.server_cert)
        self.write("server.key", self.server_key)
        self.write_crl()

    def write(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.write_text(text)
        return path

    def issue(self, cn: str, server: bool = False) -> tuple[str, str]:
        self._serial += 1
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(self.ca_cert.subject)
                   .public_key(key.public_key()).serial_number(self._serial)
                   .not_valid_before(self._now - datetime.timedelta(days=1))
                   .not_valid_after(self._now + datetime.timedelta(days=30))
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), critical=False))
        if server:
            import ipaddress

            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        cert = builder.sign(self.ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM).decode(), _pem_key(key).decode()

    def revoke(self, cert_pem: str) -> None:
        self.revoked.append(x509.load_pem_x509_certificate(cert_pem.encode()).serial_number)
        self.write_crl()

    def write_crl(self) -> None:
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.ca_cert.subject)
                   .last_update(self._now - datetime.timedelta(hours=1))
                   .next_update(self._now + datetime.timedelta(days=30)))
        for serial in self.revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(self._now - datetime.timedelta(hours=1)).build())
        crl = builder.sign(self.ca_key, hashes.SHA256())
        self.write("crl.pem", crl.public_bytes(serialization.Encoding.PEM).decode())


# -- the broker --------------------------------------------------------------------------------------
class Mosquitto:
    """One mosquitto process; ``stop``/``kill`` and ``start`` again keep its ports."""

    def __init__(self, folder: Path, pki: Pki | None = None, websockets: bool = False):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tls_port = free_port() if pki else None
        self.ws_port = free_port() if websockets else None
        # persistence: a subscriber's session and its queued QoS 1 messages survive a broker restart
        # (SIGTERM; after a kill -9 mosquitto loses what it had not saved, its own loss, not EdgeHub's)
        lines = ["per_listener_settings false", "allow_anonymous true", "persistence true",
                 f"persistence_location {folder}/", "user root",
                 "log_dest stderr", "log_type error", "log_type warning", "log_type notice",
                 "max_queued_messages 1000000", "max_inflight_messages 0",
                 f"listener {self.port} 127.0.0.1"]
        if pki:
            lines += [f"listener {self.tls_port} 127.0.0.1", f"cafile {pki.folder / 'ca.pem'}",
                      f"certfile {pki.folder / 'server.pem'}", f"keyfile {pki.folder / 'server.key'}",
                      "require_certificate true", f"crlfile {pki.folder / 'crl.pem'}"]
        if websockets:
            lines += [f"listener {self.ws_port} 127.0.0.1", "protocol websockets"]
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.log = folder / "mosquitto.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Mosquitto":
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=log)
        try:
            for port in filter(None, (self.port, self.tls_port, self.ws_port)):
                wait_for(lambda: self._alive() and _listening(port), 10)
        except BaseException:  # a broker that did not come up is not left behind, whoever started it
            self.kill()
            raise
        return self

    def _alive(self) -> bool:
        assert self.proc.poll() is None, f"mosquitto exited: {self.log.read_text()[-2000:]}"
        return True

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    close = kill

    def stop(self) -> None:
        """A clean stop (SIGTERM: Mosquitto saves its sessions); a broker that hangs fails the test and
        is killed by ``close``."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Subscriber:
    """A paho client on its own thread recording every message of ``topic``, with QoS 1 and a persistent
    session (so it misses nothing while the broker is up)."""

    def __init__(self, port: int, topic: str = "#", client_id: str = "edgehub-test-sub"):
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.reconnect_delay_set(0.05, 0.5)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message):
        with self._lock:
            self.messages.append((message.topic, message.payload))

    def on(self, topic: str) -> list[bytes]:
        with self._lock:
            return [payload for t, payload in self.messages if t == topic]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


# -- HTTP stubs (the DCCS, a provisioning service) -----------------------------------------------
class JsonStub:
    """A stdlib HTTP server on 127.0.0.1: every GET and POST is recorded in ``requests`` as (method, path,
    Authorization header, JSON body or None) and answered ``answer`` — (status, JSON document) — or what
    ``respond(request)`` returns."""

    def __init__(self, path: str = ""):
        self.answer: tuple[int, object] = (404, {})
        self.requests: list[tuple[str, str, str | None, object]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                request = (self.command, self.path, self.headers.get("Authorization"), body)
                outer.requests.append(request)
                status, doc = outer.respond(request)
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def respond(self, request) -> tuple[int, object]:
        return self.answer

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Dccs(JsonStub):
    """``GET /v1/serviceCredentials/<key>`` answers ``credentials`` (``None``: 404)."""

    credentials: dict | None = None

    def respond(self, request):
        return (200, self.credentials) if self.credentials else (404, {})
