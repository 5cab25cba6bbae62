"""The Settings tab of a string: its alarm limits and its e-mail/SMS switch matrix.

The limits table shows every overridable limit with its effective value and where it comes
from (default of the battery type, topology.yaml, or set here). An administrator edits the
values: one that differs from topology.yaml's (or the default) is stored as a runtime override
(storage/limit_overrides.py), one set back to it removes the override. Everything is checked
with the topology's rules before anything is stored; a refused value answers 400 with the
limit's name and the rule. The matrix (rows: alarm kinds; columns: e-mail, SMS) is the
notification store's per-string switches. After a change the gateway is told at once
(SettingsChanged) and applies it without a restart; `btms limits` / `btms notify` do the same
from a shell. Viewers and operators see the values, not the buttons (admin only).
"""

from __future__ import annotations

import asyncio
import math

from quart import Blueprint, abort, redirect, request

from actors.messages.down import SettingsChanged
from battery.alarms.kinds import STRING_NOTIFICATION_KINDS
from battery.alarms.runtime_limits import (
    LIMIT_LABELS,
    effective_values,
    limit_rows,
    parse_limit_value,
    with_runtime_overrides,
)
from storage.limit_overrides import replace_overrides, string_overrides
from storage.notification_settings import channel_enabled
from storage.settings_db import settings_path
from web.access import identity, requires
from web.ui.context import UiContext
from web.ui.frame import level_of
from web.ui.render import render_page
from web.users.roles import allows

SAVED = {"limits": "Alarm limits saved: the gateway applies them now.", "switches": "E-mail/SMS switches saved."}


def string_settings_pages(ui: UiContext) -> Blueprint:
    pages = Blueprint("string_settings", __name__)
    db = settings_path(ui.storage_dir)

    def known(string_id: str):
        try:
            return ui.topology.string(string_id)
        except KeyError:
            abort(404)

    async def show(string_id: str, *, error: str = "", typed: dict | None = None, status: int = 200):
        string = known(string_id)
        stored = await asyncio.to_thread(string_overrides, db, string.id)
        try:
            rows = limit_rows(string, stored)
        except ValueError as problem:  # stored limits that topology.yaml no longer allows
            error = error or f"{problem} (the gateway uses topology.yaml's limits; save valid ones or reset)"
            rows = limit_rows(string, {})
        switches = await ui.alarms.notifications.switches()
        matrix = [
            (
                kind.value,
                kind.setting_label,
                channel_enabled(switches, string.id, kind.value, "email"),
                channel_enabled(switches, string.id, kind.value, "sms"),
            )
            for kind in STRING_NOTIFICATION_KINDS
        ]
        page = await render_page(
            ui,
            "string_settings.html",
            level_of(ui.topology, "string", string.id),
            "settings",
            rows=rows,
            typed=typed or {},
            matrix=matrix,
            may_edit=allows(identity().role, "admin"),
            error=error,
            saved=SAVED.get(request.args.get("saved", "")),
        )
        return page, status

    pages.add_url_rule("/strings/<string_id>/settings", "settings_string", show)

    @pages.post("/strings/<string_id>/settings/limits")
    @requires("admin")
    async def save_limits(string_id: str):
        string = known(string_id)
        form = await request.form
        typed = {name: form.get(f"limit.{name}", "") for name in LIMIT_LABELS}
        if form.get("reset") == "all":
            wanted: dict[str, float] = {}
        else:
            try:
                wanted = _runtime_overrides(string, typed)
            except ValueError as error:
                return await show(string.id, error=str(error), typed=typed, status=400)
        try:
            await asyncio.to_thread(replace_overrides, db, string, wanted, identity().name)
        except ValueError as error:
            return await show(string.id, error=str(error), typed=typed, status=400)
        ui.bridge.command(SettingsChanged())
        return redirect(f"/strings/{string.id}/settings?saved=limits", 303)

    @pages.post("/strings/<string_id>/settings/notifications")
    @requires("admin")
    async def save_switches(string_id: str):
        string = known(string_id)
        form = await request.form
        store = ui.alarms.notifications
        switches = await store.switches()
        for kind in STRING_NOTIFICATION_KINDS:
            email, sms = f"email.{kind.value}" in form, f"sms.{kind.value}" in form
            now = (
                channel_enabled(switches, string.id, kind.value, "email"),
                channel_enabled(switches, string.id, kind.value, "sms"),
            )
            if (email, sms) != now:
                await store.set_switch(string.id, kind.value, email, sms)
        ui.bridge.command(SettingsChanged())
        return redirect(f"/strings/{string.id}/settings?saved=switches", 303)

    return pages


def _runtime_overrides(string, typed: dict[str, str]) -> dict[str, float]:
    """The values that differ from topology.yaml's (or the default): those are stored."""
    base = effective_values(with_runtime_overrides(string, ()))
    where = f"string {string.id}"
    wanted = {}
    for name, text in typed.items():
        if not text.strip():
            continue  # an emptied field: back to topology.yaml's value or the default
        value = parse_limit_value(name, text, where)
        if not math.isclose(value, base[name], rel_tol=1e-9, abs_tol=1e-9):
            wanted[name] = value
    return wanted
