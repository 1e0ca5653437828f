"""The auth service plugins and the core use: log a user in, identify the caller of a request, enforce
the privilege table before every view, and revoke tokens."""
from __future__ import annotations

import dataclasses
import logging
import time

import gevent
from gevent.lock import BoundedSemaphore
from flask import Flask, Request, g, request

from ..config import AuthConfig
from ..errors import AuthError, AuthErrorBothCases, Forbidden, TooManyAttempts
from ..state import StateStore
from . import admin_account, os_accounts, privileges
from .admin_account import AdminAccount
from .client_address import ClientAddress
from .throttle import LoginThrottle, Policy
from .tokens import Identity, InvalidToken, TokenService

log = logging.getLogger("portald.auth")

OS_ACCOUNT, ADMIN_ACCOUNT = 0, 2
ADMIN_CHECKS = 2  # scrypt, ~50 ms and 16 MiB each
CHECK_QUEUE_SECONDS = 5.0  # longest a login waits for a free PAM check before it is told to retry
ROLE_CACHE_SECONDS = 30.0
REFUSAL_LOG_SECONDS = 10.0


class AuthService:
    def __init__(self, config: AuthConfig, store: StateStore):
        self.config = config
        self.tokens = TokenService(store, config.token_ttl_seconds)
        self.admin = AdminAccount(store)
        self.throttle = LoginThrottle(Policy(
            config.max_failures, config.failure_window_seconds, config.lockout_seconds,
            config.failure_delay_seconds, config.failure_delay_max_seconds, config.address_max_failures,
            config.account_max_failures, config.account_lockout_seconds))
        self.client_address = ClientAddress(config.trusted_proxies)
        # PAM checks and admin-account checks queue apart: a flood of (slow) OS-account logins never
        # stands between the owner and the admin account; neither may take every threadpool thread
        # (ETP, screenshots and samplers use them too)
        self._pam_checks = BoundedSemaphore(config.max_concurrent_checks)
        self._admin_checks = BoundedSemaphore(ADMIN_CHECKS)
        self._refusals_logged: dict[str, tuple[float, int]] = {}  # address -> (last logged, not logged since)
        self._in_flight: dict[str, int] = {}  # client address -> login attempts being answered
        self._pam_loading, self._pam_loaded = BoundedSemaphore(1), False
        self._roles: dict[str, tuple[str | None, float]] = {}

    # -- logging in ----------------------------------------------------------------------------------
    def _log_refusal(self, address: str, message: str, *args) -> None:
        """One line per client address per ``REFUSAL_LOG_SECONDS``: a flood of 429s must not fill the log."""
        now = time.monotonic()
        last, suppressed = self._refusals_logged.get(address, (0.0, 0))
        if now - last < REFUSAL_LOG_SECONDS:
            self._refusals_logged[address] = (last, suppressed + 1)
            return
        if len(self._refusals_logged) > 4096:
            self._refusals_logged.clear()
        self._refusals_logged[address] = (now, 0)
        more = f" (and {suppressed} more refusals from there not logged)" if suppressed else ""
        log.warning(message + more, *args)

    def refuse_if_locked(self, account_key: str, address: str, who: str) -> None:
        wait = self.throttle.retry_after(account_key, address)
        if wait:
            self._log_refusal(address, "login refused for %r from %s: locked out for %d s", who, address, wait)
            raise TooManyAttempts(f"too many failed logins, retry in {wait} s", headers={"Retry-After": str(wait)})

    def login(self, username: str, password: str, method: int, address: str) -> tuple[str, object, Identity]:
        """Check the credentials and issue a token; raises 401/429 ``AuthError``s.

        A failed attempt is answered after a delay that this greenlet sleeps out (no thread is held);
        an address with ``max_attempts_per_address`` attempts still unanswered gets 429 at once."""
        account_key = f"{method}:{username}"
        self.refuse_if_locked(account_key, address, username)
        if self._in_flight.get(address, 0) >= self.config.max_attempts_per_address:
            self._log_refusal(address, "login refused for %r from %s: attempts from there still in progress",
                              username, address)
            raise TooManyAttempts("a login from this address is still in progress, retry in 1 s",
                                  headers={"Retry-After": "1"})
        self._in_flight[address] = self._in_flight.get(address, 0) + 1
        try:
            return self._login(username, password, method, address, account_key)
        finally:
            left = self._in_flight.pop(address) - 1
            if left:
                self._in_flight[address] = left

    def _login(self, username: str, password: str, method: int, address: str,
               account_key: str) -> tuple[str, object, Identity]:
        attempt = self.throttle.attempt(account_key, address)
        try:
            ok, role, must_change, pam_delay = self._check(username, password, method)
        except TooManyAttempts:
            self.throttle.withdraw(account_key, address, attempt)  # never checked
            raise
        if not ok:
            delay = max(self.throttle.failed(account_key, address, attempt), pam_delay)
            log.warning("failed login for %r (m=%d) from %s", username, method, address)
            if delay:
                gevent.sleep(delay)
            raise AuthError("invalid username or password")
        self.throttle.succeeded(account_key, address, attempt)
        token, expire = self.tokens.issue(username, method, role, self.admin.generation, must_change)
        log.info("%r logged in (m=%d, role %s) from %s", username, method, role, address)
        return token, expire, self.tokens.verify(token, self.admin.generation)

    def _check(self, username: str, password: str, method: int) -> tuple[bool, str, bool, float]:
        """(ok, role, must change the password, delay PAM asked for); runs in the threadpool."""
        pool = gevent.get_hub().threadpool
        if method == ADMIN_ACCOUNT:
            if username != admin_account.USERNAME:
                return False, "", False, 0.0
            with self._admin_checks:
                ok = pool.apply(self.admin.verify, (password,))
            return ok, "admin", ok and self.admin.is_default, 0.0
        if not self._pam_checks.acquire(timeout=CHECK_QUEUE_SECONDS):
            log.warning("OS-account login for %r refused: every PAM check busy for %.0f s", username,
                        CHECK_QUEUE_SECONDS)
            raise TooManyAttempts("too many logins in progress, retry in 1 s", headers={"Retry-After": "1"})
        try:
            if not self._pam_loaded:
                # libpam is found and loaded once, by one greenlet, in the threadpool (it runs ldconfig)
                with self._pam_loading:
                    if not self._pam_loaded:
                        pool.apply(os_accounts.preload)
                        self._pam_loaded = True
            ok, pam_delay = pool.apply(os_accounts.authenticate, (self.config.pam_service, username, password))
        finally:
            self._pam_checks.release()
        if not ok:
            return False, "", False, pam_delay
        return True, os_accounts.role_of(username, self.config.admin_groups), False, 0.0

    # -- identifying the caller ------------------------------------------------------------------------
    @staticmethod
    def token_from(req: Request, allow_query: bool = False) -> str | None:
        header = req.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        if req.cookies.get("jwt"):
            return req.cookies["jwt"]
        # ?token= only where the browser API cannot send headers: EventSource and WebSocket requests
        # to the routes that stream (a token in a URL ends up in histories and proxy logs)
        streaming = "text/event-stream" in req.headers.get("Accept", "") or \
            req.headers.get("Upgrade", "").lower() == "websocket"
        if allow_query and streaming and req.args.get("token"):
            return req.args["token"]
        return None

    def identify(self, req: Request, allow_query: bool = False) -> Identity:
        token = self.token_from(req, allow_query)
        if not token:
            raise AuthError("missing token")
        try:
            return self.tokens.verify(token, self.admin.generation)
        except InvalidToken as exc:
            raise AuthError(f"invalid token: {exc}") from None

    def _with_current_role(self, identity: Identity) -> Identity:
        """An OS account's role as it is now, not as it was at login: someone removed from the admin
        groups, or whose account was deleted, loses those rights within ``ROLE_CACHE_SECONDS``."""
        now = time.monotonic()
        cached = self._roles.get(identity.user)
        if cached is None or now - cached[1] > ROLE_CACHE_SECONDS:
            cached = (os_accounts.current_role(identity.user, self.config.admin_groups), now)
            self._roles[identity.user] = cached
            if len(self._roles) > 4096:
                self._roles.clear()
        role = cached[0]
        if role is None:
            raise AuthError("the account of this token no longer exists")
        return identity if role == identity.role else dataclasses.replace(identity, role=role)

    def guard(self, app: Flask) -> None:
        """Enforce the privilege table before every view (so no route can be forgotten)."""
        # (endpoint, method) -> (level, streams): the table is fixed once the app serves, and a
        # public ping should cost a dict lookup, not a walk through the view's declarations
        levels: dict[tuple[str, str], tuple[str, bool]] = {}

        @app.before_request
        def _enforce():
            req = request._get_current_object()  # one proxy lookup instead of one per attribute
            endpoint = req.endpoint
            if endpoint is None:
                return None
            found = levels.get((endpoint, req.method))
            if found is None:
                view = app.view_functions.get(endpoint)
                if view is None:
                    return None
                found = levels[(endpoint, req.method)] = (privileges.required(view, req.method),
                                                           privileges.streams(view))
            level, streams = found
            if level == privileges.PUBLIC:
                return None
            try:
                identity = self.identify(req, streams)
            except AuthError as exc:
                if level == privileges.ADMIN_ACCOUNT:
                    raise AuthErrorBothCases(exc.message, headers=exc.headers) from None
                raise
            if identity.method == OS_ACCOUNT:
                identity = self._with_current_role(identity)
            if identity.must_change_password and level != privileges.ADMIN_ACCOUNT:
                raise Forbidden("the default admin password must be changed first (PUT /auth/user/admin/password)")
            if level == privileges.ADMIN and not identity.is_admin:
                raise Forbidden("this action needs an administrator")
            if level == privileges.ADMIN_ACCOUNT and identity.method != ADMIN_ACCOUNT:
                raise Forbidden("this action needs the admin account (m=2)")
            g.identity = identity
            return None

    def close(self) -> None:
        self.tokens.close()
