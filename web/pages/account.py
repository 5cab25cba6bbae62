"""The account page every user reaches from the header: their own password.

The present password is asked (a session left open on a shared screen must not be enough to
take the account over) and counted by the log-in throttle, so this form cannot be used to guess
it either. Changing it ends the user's other sessions and keeps the one in use.

The aggregator serves this same page in its own frame (aggregator/web_app.py): it passes how
a page is drawn there; the rules, the form and its CSRF check are the ones here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from quart import Blueprint, redirect, request

from observability.log import get_logger
from web.access import SESSION_COOKIE, identity
from web.form_fields import field
from web.request_args import client_address
from web.session.login_throttle import LoginThrottle
from web.session.store import SessionStore
from web.ui.frame import site_level
from web.ui.render import render_page
from web.users.book import UserBook, UserError
from web.users.passwords import MIN_LENGTH

log = get_logger("btms.web")

Render = Callable[..., Awaitable[str]]  # (template, **context): a page in the UI's frame


class AccountParts(Protocol):
    """What the page reads of a UI's context (a gateway's web/ui/context.py, the aggregator's)."""

    users: UserBook
    sessions: SessionStore
    throttle: LoginThrottle


def account_pages(ui: AccountParts, render: Render | None = None) -> Blueprint:
    """render: how a page is drawn; without it, in a gateway's frame at its site (ui is its UiContext)."""
    pages = Blueprint("account", __name__)

    async def in_gateway_frame(template: str, **context) -> str:
        gateway: Any = ui
        return await render_page(gateway, template, site_level(gateway.topology), "", **context)

    draw = render or in_gateway_frame

    async def show(status: int = 200, error: str = ""):
        user = await asyncio.to_thread(ui.users.get, identity().name)
        done = "Your password is changed; your other sessions have ended." if request.args.get("saved") else ""
        body = await draw("account.html", user=user, error=error, done=done, min_length=MIN_LENGTH)
        return body, status

    @pages.get("/account")
    async def account():
        return await show()

    @pages.post("/account/password")
    async def change_password():
        who = identity()
        form = await request.form
        current, new, again = field(form, "current"), field(form, "new"), field(form, "again")
        address = client_address()
        wait_s = ui.throttle.retry_after(address, who.name)
        if wait_s:
            return await show(429, f"Too many wrong passwords: try again in {wait_s} s.")
        if await asyncio.to_thread(ui.users.verify, who.name, current) is None:
            ui.throttle.failed(address, who.name)
            log.warning("password change refused: wrong present password", user=who.name, client=address)
            return await show(400, "The present password is not right.")
        if new != again:
            return await show(400, "The two new passwords differ.")
        try:
            await asyncio.to_thread(ui.users.set_password, who.name, new)
        except UserError as error:
            return await show(400, f"New password: {error}.")
        await ui.sessions.end_all_of(who.name, keep=request.cookies.get(SESSION_COOKIE, ""))
        log.info("password changed by its owner; other sessions ended", user=who.name)
        return redirect("/account?saved=1", 303)

    return pages
