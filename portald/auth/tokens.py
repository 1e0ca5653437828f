"""JWT tokens: issued ES256 with a key kept in ``state_dir``, verifiable offline with the certificate
``GET /auth/certificate`` serves, and revocable.

Claims: ``sub`` (user), ``m`` (0 OS account, 2 admin account), ``role`` (admin/user), ``jti``, ``iat``,
``exp``; admin-account tokens also carry ``pwg`` (the admin password's generation, so a password change
or reset revokes every earlier admin token) and ``chg`` (issued for the default password: good only for
changing it). Logged-out ``jti``s are kept in SQLite until they expire, so a restart does not revive them.
"""
from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import time
import uuid
from dataclasses import dataclass

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..state import StateStore
from ..tls import ensure_key_and_cert

log = logging.getLogger("portald.auth")
ALGORITHM = "ES256"
_VERIFIED_CACHE = 1024


@dataclass(frozen=True)
class Identity:
    user: str
    method: int  # 0 OS account, 2 admin account
    role: str  # "admin" or "user"
    jti: str
    expires: int
    must_change_password: bool = False
    generation: int = 0  # the admin password generation an admin-account token was issued under

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class InvalidToken(Exception):
    pass


class TokenService:
    def __init__(self, store: StateStore, ttl_seconds: int):
        self.ttl = ttl_seconds
        key_pem, self.certificate_pem = ensure_key_and_cert(store, "jwt-key.pem", "jwt-cert.pem", "portald JWT signer")
        self._private = serialization.load_pem_private_key(key_pem, None)
        self._public = x509.load_pem_x509_certificate(self.certificate_pem).public_key()
        try:
            self._open_revocations(store)
        except sqlite3.DatabaseError as exc:
            # a damaged database must not keep the daemon down: set it aside and start a new one
            # (tokens revoked before are then valid again until they expire, at most token_ttl)
            aside = store.path(f"auth.db.damaged-{int(time.time())}")
            log.error("auth.db is damaged (%s); moved to %s and started afresh", exc, aside.name)
            for suffix in ("", "-wal", "-shm"):
                if store.path("auth.db" + suffix).exists():
                    store.path("auth.db" + suffix).rename(str(aside) + suffix)
            self._open_revocations(store)
        self._verified: dict[str, dict] = {}

    def _open_revocations(self, store: StateStore) -> None:
        self._db = store.sqlite("auth.db")
        self._db.execute("CREATE TABLE IF NOT EXISTS revoked (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL)")
        self._db.execute("DELETE FROM revoked WHERE exp < ?", (int(time.time()),))
        self._revoked = {row[0] for row in self._db.execute("SELECT jti FROM revoked")}

    def issue(self, user: str, method: int, role: str, password_generation: int = 0,
              must_change_password: bool = False) -> tuple[str, dt.datetime]:
        now = int(time.time())
        exp = now + self.ttl
        claims = {"sub": user, "m": method, "role": role, "jti": uuid.uuid4().hex, "iat": now, "exp": exp}
        if method == 2:
            claims["pwg"] = password_generation
            if must_change_password:
                claims["chg"] = True
        token = jwt.encode(claims, self._private, algorithm=ALGORITHM)
        return token, dt.datetime.fromtimestamp(exp).astimezone()

    def verify(self, token: str, admin_generation: int) -> Identity:
        claims = self._verified.get(token)
        if claims is None or claims["exp"] <= time.time():
            try:
                claims = jwt.decode(token, self._public, algorithms=[ALGORITHM],
                                    options={"require": ["sub", "exp", "jti", "m", "role"]})
            except jwt.PyJWTError as exc:
                raise InvalidToken(str(exc)) from None
            # the ECDSA check is most of a request's cost; the same token string has the same
            # signature, so remember it (expiry, revocation and generation are still checked below)
            if len(self._verified) >= _VERIFIED_CACHE:
                self._verified.pop(next(iter(self._verified)))
            self._verified[token] = claims
        if claims["jti"] in self._revoked:
            raise InvalidToken("token has been revoked")
        if claims["m"] == 2 and claims.get("pwg") != admin_generation:
            raise InvalidToken("token was issued before the admin password changed")
        return Identity(claims["sub"], claims["m"], claims["role"], claims["jti"], claims["exp"],
                        bool(claims.get("chg")), int(claims.get("pwg", 0)))

    def still_valid(self, identity: Identity, admin_generation: int) -> bool:
        """For a long-lived stream opened with this identity: not expired, revoked or superseded."""
        return (identity.expires > time.time() and identity.jti not in self._revoked
                and (identity.method != 2 or identity.generation == admin_generation))

    def revoke(self, identity: Identity) -> None:
        self._revoked.add(identity.jti)
        self._db.execute("INSERT OR IGNORE INTO revoked (jti, exp) VALUES (?, ?)", (identity.jti, identity.expires))

    def close(self) -> None:
        self._db.close()
