"""Settings → Users: the list, a new user with an initial password, a user's role and alarm
contacts, and removing a user (their browser sessions end with them).

The rules live in UserBook (web/users/book.py): field checks, the password rule, and that the
last administrator is neither removed nor demoted; its message is shown next to the form.
A password is changed by its owner on the account page, or on the host with `btms user passwd`.
The aggregator serves this section too, drawn in its own frame (aggregator/ui/settings.py).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from quart import Blueprint, abort, request

from observability.log import get_logger
from web.access import identity, requires
from web.pages.settings_common import (
    SECTIONS,
    Draw,
    admin_only,
    checked,
    field,
    in_gateway_frame,
    render_section,
    saved,
)
from web.session.store import SessionStore
from web.users.book import User, UserBook, UserError
from web.users.roles import ROLES

log = get_logger("btms.web")


def user_from_form(form, name: str) -> User:
    return User(
        name=name,
        role=field(form, "role", "viewer"),
        full_name=field(form, "full_name").strip(),
        email=field(form, "email").strip(),
        phone=field(form, "phone").strip(),
        receive_email=checked(form, "receive_email"),
        receive_sms=checked(form, "receive_sms"),
    )


class UsersParts(Protocol):
    """What the section reads of a UI's context (a gateway's web/ui/context.py, the aggregator's)."""

    users: UserBook
    sessions: SessionStore


def users_routes(pages: Blueprint, ui: UsersParts, draw: Draw | None = None, sections=SECTIONS) -> None:
    """draw: how a page is drawn (the gateway's frame at its site without it); sections: the tab's sections."""
    drawn: Draw = draw or in_gateway_frame(ui)  # type: ignore[arg-type]
    admin = admin_only(None, drawn)

    def section(name: str, status: int, errors: dict | None, **context):
        return render_section(None, name, status, errors, draw=drawn, sections=sections, roles=ROLES, **context)

    async def listing(status: int = 200, errors: dict | None = None, draft: User | None = None):
        users = await asyncio.to_thread(ui.users.all)
        return await section("users", status, errors, users=users, draft=draft)

    async def one(name: str, status: int = 200, errors: dict | None = None):
        user = await asyncio.to_thread(ui.users.get, name)
        if user is None:
            abort(404)
        return await section("user", status, errors, user=user)

    @pages.get("/site/settings/users")
    @admin
    async def users_page():
        return await listing()

    @pages.post("/site/settings/users")
    @requires("admin")
    async def add_user():
        form = await request.form
        user = user_from_form(form, field(form, "name").strip())
        password = field(form, "password")
        if password != field(form, "password_again"):
            return await listing(400, {"add": "The two passwords differ."}, user)
        try:
            await asyncio.to_thread(ui.users.add, user, password)
        except UserError as error:
            return await listing(400, {"add": str(error)}, user)
        log.info("user added", user=user.name, role=user.role, by=identity().name)
        return saved("users", "add")

    @pages.get("/site/settings/users/<name>")
    @admin
    async def user_page(name: str):
        return await one(name)

    @pages.post("/site/settings/users/<name>")
    @requires("admin")
    async def change_user(name: str):
        form = await request.form
        try:
            await asyncio.to_thread(ui.users.update, user_from_form(form, name))
        except UserError as error:
            return await one(name, 400, {"user": str(error)})
        log.info("user changed", user=name, role=form.get("role", "")[:10], by=identity().name)
        return saved("users", "user", f"/site/settings/users/{name}")

    @pages.post("/site/settings/users/<name>/remove")
    @requires("admin")
    async def remove_user(name: str):
        try:
            await asyncio.to_thread(ui.users.remove, name)
        except UserError as error:
            if await asyncio.to_thread(ui.users.get, name) is None:
                abort(404)
            return await one(name, 400, {"remove": str(error)})
        await ui.sessions.end_all_of(name)
        log.info("user removed; their sessions ended", user=name, by=identity().name)
        return saved("users", "remove")
