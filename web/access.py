"""Who is asking, and may they: one rule for the JSON API, the pages and the live streams.

A request is identified by a Bearer token (scripts, SCADA glue) or by the session cookie (a
browser). Pages need a session and send a browser without one to the log-in page; the API and
/metrics take either, and answer 401 in JSON. Every request that changes something and comes
with a session must carry the session's CSRF token (form field `csrf_token` or header
`X-CSRF-Token`): a page of another site can make the browser send the cookie, never the token.
Static files are public (they hold no data). The kiosk page is open to the addresses the
topology lists under services.web.kiosk_clients, with its live stream. The live streams
(/live/...) are machine paths: without a session or token they answer 401, never a redirect
(an EventSource cannot follow one to a log-in page).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from urllib.parse import quote

from quart import g, redirect, request

from observability.log import get_logger
from web.api_tokens import TokenVerifier
from web.auth_throttle import FailureWindow
from web.errors import json_error
from web.request_args import client_address
from web.session.store import Session, SessionStore
from web.users.roles import allows

SESSION_COOKIE = "btms_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PUBLIC_PREFIXES = ("/static/", "/login", "/favicon.ico")
MACHINE_PREFIXES = ("/api/", "/metrics", "/live/")  # answered in JSON / text, never redirected
KIOSK_PATHS = ("/kiosk", "/live/kiosk")  # the kiosk page and its live stream

log = get_logger("btms.web")


@dataclass(frozen=True)
class Identity:
    name: str
    role: str  # viewer, operator or admin
    via: str  # "token" or "session"
    csrf: str = ""  # the session's CSRF token ("" for a token)


class AccessControl:
    def __init__(
        self,
        verifier: TokenVerifier,
        sessions: SessionStore,
        kiosk_clients: tuple[str, ...] = (),
        failures: FailureWindow | None = None,
    ) -> None:
        self.verifier = verifier
        self.sessions = sessions
        self.kiosk_clients = frozenset(kiosk_clients)
        self.failures = failures or FailureWindow()

    async def check(self):
        """The app's before_request: sets g.identity, or answers in its place."""
        g.identity = None
        path = request.path
        if path.startswith(PUBLIC_PREFIXES):
            return None
        if path in KIOSK_PATHS and client_address() in self.kiosk_clients and request.method in SAFE_METHODS:
            return None
        machine = path.startswith(MACHINE_PREFIXES)
        if machine and request.headers.get("Authorization"):
            return await self._token()
        session = await self._session()
        if session is None:
            if machine:
                return json_error(
                    401,
                    "missing API token: send 'Authorization: Bearer <token>' (create one with"
                    " 'btms token create NAME') or log in",
                )
            if request.method not in SAFE_METHODS:
                return json_error(401, "log in first")
            return redirect(f"/login?next={quote(request.full_path.rstrip('?'), safe='/?=&')}", 303)
        g.identity = Identity(session.user, session.role, "session", session.csrf)
        if request.method not in SAFE_METHODS and not await _csrf_ok(session):
            log.warning("request refused: no valid CSRF token", user=session.user, path=path[:120])
            return json_error(403, "missing or wrong CSRF token: reload the page and try again")
        if machine and request.method not in SAFE_METHODS and not allows(session.role, "operator"):
            return json_error(
                403, f"user {session.user!r} is a viewer: {request.method} {path[:120]} needs an operator"
            )
        return None

    async def _token(self):
        address = client_address()
        wait_s = self.failures.retry_after(address)
        if wait_s:
            return json_error(429, f"too many invalid API tokens from {address}: try again in {wait_s} s", wait_s)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return json_error(401, "send 'Authorization: Bearer <token>' (create one with 'btms token create NAME')")
        found = await self.verifier.identify(token.strip())
        if found is None:
            if self.failures.failed(address):
                log.warning(
                    "api client throttled: too many invalid tokens",
                    client=address,
                    failures=self.failures.max_failures,
                    window_s=self.failures.window_s,
                )
            return json_error(401, "invalid or revoked API token")
        name, role = found
        g.identity = Identity(name, role, "token")
        g.token_name, g.token_role = name, role  # older routes read these
        if request.method not in SAFE_METHODS and role != "operator":
            return json_error(
                403, f"token {name!r} is a viewer token: {request.method} {request.path} needs an operator token"
            )
        return None

    async def _session(self) -> Session | None:
        session_id = request.cookies.get(SESSION_COOKIE, "")
        return await self.sessions.find(session_id) if session_id else None


async def _csrf_ok(session: Session) -> bool:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = (await request.form).get(CSRF_FIELD, "")
    return bool(sent) and hmac.compare_digest(sent.encode(), session.csrf.encode())


def identity() -> Identity | None:
    return g.get("identity")


def requires(role: str) -> Callable:
    """A route decorator: 403 unless the caller's role allows `role`'s actions."""

    def decorate(view: Callable[..., Awaitable]) -> Callable[..., Awaitable]:
        @wraps(view)
        async def guarded(*args, **kwargs):
            who = identity()
            if who is None or not allows(who.role, role):
                name = who.name if who else "nobody"
                return json_error(403, f"{name!r} may not do this: it needs the {role} role")
            return await view(*args, **kwargs)

        return guarded

    return decorate
