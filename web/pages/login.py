"""Log-in and log-out.

The log-in form is CSRF-protected before any session exists by a double-submit token: a random
value in a short-lived SameSite=Strict cookie that the form must echo. Failed log-ins are
counted per address and per user (web/session/login_throttle.py); a throttled attempt gets 429
before its password is checked. The same message answers an unknown user and a wrong password.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from typing import Protocol

from quart import Blueprint, make_response, redirect, render_template, request

from observability.log import get_logger
from web.access import SESSION_COOKIE
from web.request_args import client_address
from web.session.login_throttle import LoginThrottle
from web.session.store import SessionStore
from web.ui.render import FrameParts, site_settings
from web.users.book import UserBook

LOGIN_CSRF_COOKIE = "btms_login_csrf"
MAX_FIELD = 256

log = get_logger("btms.web")


class LoginParts(FrameParts, Protocol):
    """What log-in reads of a UI's context (web/ui/context.py, aggregator/ui/context.py)."""

    users: UserBook
    sessions: SessionStore
    throttle: LoginThrottle
    tls: bool


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this gateway only (never //host or a scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/site/realtime"
    return target[:500]


def login_pages(ui: LoginParts) -> Blueprint:
    pages = Blueprint("login", __name__)

    async def form(message: str = "", status: int = 200, retry_after: int = 0):
        token = secrets.token_urlsafe(24)
        body = await render_template(
            "login.html",
            login_csrf=token,
            message=message,
            next=safe_next(request.args.get("next")),
            site=site_settings(ui),
        )
        response = await make_response(body, status)
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="Strict", secure=ui.tls, path="/login"
        )
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @pages.get("/")
    async def home():
        return redirect("/site/realtime", 303)

    @pages.get("/login")
    async def login_form():
        return await form()

    @pages.post("/login")
    async def login():
        data = await request.form
        name = data.get("username", "")[:MAX_FIELD].strip()
        password = data.get("password", "")[:MAX_FIELD]
        sent = data.get("login_csrf", "")
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            return await form("The log-in form has expired: please try again.", 403)
        address = client_address()
        wait_s = ui.throttle.retry_after(address, name)
        if wait_s:
            log.warning("log-in throttled", client=address, user=name[:64])
            return await form(f"Too many failed log-ins: try again in {wait_s} s.", 429, wait_s)
        user = await asyncio.to_thread(ui.users.verify, name, password)
        if user is None:
            ui.throttle.failed(address, name)
            log.warning("log-in failed", client=address, user=name[:64])
            return await form("Wrong user name or password.", 401)
        session_id, _ = await ui.sessions.create(user.name)
        log.info("logged in", client=address, user=user.name, role=user.role)
        response = redirect(safe_next(data.get("next")), 303)
        response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="Strict", secure=ui.tls, path="/")
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    @pages.post("/logout")
    async def logout():
        session_id = request.cookies.get(SESSION_COOKIE, "")
        if session_id:
            await ui.sessions.end(session_id)
        response = redirect("/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return pages
