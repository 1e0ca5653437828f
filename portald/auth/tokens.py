"""JWT tokens: issued ES256 with a key kept in ``state_dir``, verifiable offline with the certificate
``GET /auth/certificate`` serves, and revocable.

Claims: ``sub`` (user), ``m`` (0 OS account, 2 admin account), ``role`` (admin/user), ``jti``, ``iat``,
``exp``; admin-account tokens also carry ``pwg`` (the admin password's generation, so a password change
or reset revokes every earlier admin token) and ``chg`` (issued for the default password: good only for
changing it). Logged-out ``jti``s are kept in SQLite until they expire, so a restart does not revive them.
SQLite (~1.5 MB resident once loaded) is loaded only when there is something to read or write: when
the first token is checked and ``auth.db`` exists, or at the first revocation (no file, nothing was
ever revoked).
"""
from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass

from ..state import StateStore
from ..tls import KeyPair
from . import jws
from .jws import InvalidToken

log = logging.getLogger("portald.auth")
ALGORITHM = "ES256"
REQUIRED_CLAIMS = ("sub", "exp", "jti", "m", "role")
_VERIFIED_CACHE = 1024
_KEY, _CERT = "jwt-key.pem", "jwt-cert.pem"

__all__ = ["ALGORITHM", "Identity", "InvalidToken", "TokenService"]


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


class TokenService:
    def __init__(self, store: StateStore, ttl_seconds: int):
        self.ttl = ttl_seconds
        self._store = store
        # at a first start the pair is made (by a child) when the first login, token check or
        # certificate download asks for it
        self._pair = KeyPair(store, _KEY, _CERT, "portald JWT signer")
        self._keys: tuple[bytes, bytes, jws.ES256Key, jws.ES256Key] | None = None
        self._db = None
        self._revoked_jtis: set[str] | None = None
        # token -> its Identity: the ECDSA check is most of a request's cost, and the same token
        # string has the same signature (expiry, revocation and generation are still checked each time)
        self._verified: dict[str, Identity] = {}

    def _loaded(self) -> tuple[bytes, bytes, jws.ES256Key, jws.ES256Key]:
        if self._keys is None:
            key_pem, cert_pem = self._pair.pem()
            try:
                self._keys = key_pem, cert_pem, jws.ES256Key.private(key_pem), jws.ES256Key.public(cert_pem)
            except ValueError as exc:
                # readable PEM, but not a key ES256 can use (another curve, another algorithm)
                log.error("%s cannot sign ES256 tokens (%s); generating a new pair", _KEY, exc)
                key_pem, cert_pem = self._pair.remake()
                self._keys = key_pem, cert_pem, jws.ES256Key.private(key_pem), jws.ES256Key.public(cert_pem)
        return self._keys

    @property
    def certificate_pem(self) -> bytes:
        return self._loaded()[1]

    @property
    def _key_pem(self) -> bytes:
        return self._loaded()[0]

    # -- revocations -----------------------------------------------------------------------------------
    @property
    def _revoked(self) -> set[str]:
        if self._revoked_jtis is None:
            if self._store.path("auth.db").exists():
                self._load_revocations()
            else:
                self._revoked_jtis = set()  # nothing was ever revoked; revoke() creates the database
        return self._revoked_jtis

    def _load_revocations(self) -> None:
        import sqlite3

        try:
            self._open_revocations()
        except sqlite3.DatabaseError as exc:
            # a damaged database must not keep the daemon down: set it aside and start a new one
            # (tokens revoked before are then valid again until they expire, at most token_ttl)
            aside = self._store.path(f"auth.db.damaged-{int(time.time())}")
            log.error("auth.db is damaged (%s); moved to %s and started afresh", exc, aside.name)
            if self._db is not None:
                self._db.close()
            for suffix in ("", "-wal", "-shm"):
                if self._store.path("auth.db" + suffix).exists():
                    self._store.path("auth.db" + suffix).rename(str(aside) + suffix)
            self._open_revocations()

    def _open_revocations(self) -> None:
        self._db = self._store.sqlite("auth.db")
        self._db.execute("CREATE TABLE IF NOT EXISTS revoked (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL)")
        self._db.execute("DELETE FROM revoked WHERE exp < ?", (int(time.time()),))
        self._revoked_jtis = {row[0] for row in self._db.execute("SELECT jti FROM revoked")}

    # -- tokens ----------------------------------------------------------------------------------------
    def issue(self, user: str, method: int, role: str, password_generation: int = 0,
              must_change_password: bool = False) -> tuple[str, dt.datetime]:
        now = int(time.time())
        exp = now + self.ttl
        claims = {"sub": user, "m": method, "role": role, "jti": uuid.uuid4().hex, "iat": now, "exp": exp}
        if method == 2:
            claims["pwg"] = password_generation
            if must_change_password:
                claims["chg"] = True
        token = jws.encode(claims, self._loaded()[2])
        return token, dt.datetime.fromtimestamp(exp).astimezone()

    def verify(self, token: str, admin_generation: int) -> Identity:
        identity = self._verified.get(token)
        if identity is None or identity.expires <= time.time():
            claims = jws.decode(token, self._loaded()[3], REQUIRED_CLAIMS)
            if claims["m"] == 2 and "pwg" not in claims:
                raise InvalidToken("token was issued before the admin password changed")
            try:
                identity = Identity(str(claims["sub"]), int(claims["m"]), str(claims["role"]), str(claims["jti"]),
                                    int(claims["exp"]), bool(claims.get("chg")), int(claims.get("pwg", 0)))
            except (TypeError, ValueError):
                raise InvalidToken("malformed claims") from None
            if len(self._verified) >= _VERIFIED_CACHE:
                self._verified.pop(next(iter(self._verified)))
            self._verified[token] = identity
        if identity.jti in self._revoked:
            raise InvalidToken("token has been revoked")
        if identity.method == 2 and identity.generation != admin_generation:
            raise InvalidToken("token was issued before the admin password changed")
        return identity

    def still_valid(self, identity: Identity, admin_generation: int) -> bool:
        """For a long-lived stream opened with this identity: not expired, revoked or superseded."""
        return (identity.expires > time.time() and identity.jti not in self._revoked
                and (identity.method != 2 or identity.generation == admin_generation))

    def revoke(self, identity: Identity) -> None:
        if self._db is None:
            self._load_revocations()  # creates auth.db at the first revocation ever
        self._revoked.add(identity.jti)
        self._db.execute("INSERT OR IGNORE INTO revoked (jti, exp) VALUES (?, ?)", (identity.jti, identity.expires))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
