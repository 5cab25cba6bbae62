"""Settings → SNMP: the v2c communities, the SNMPv3 users and the trap receivers, set over
topology.yaml's services.snmp (storage/snmp_settings.py; `btms snmp` does the same on a
headless install). After a change the gateway is told (SettingsChanged) and the running agent
takes the new settings in place, without a restart.

Credentials are write-only: the page says whether each is set; an empty field keeps it. A
refused value is shown next to its form in the topology loader's own words, never echoing a
credential. Listening address, port and on/off stay in topology.yaml.
"""

from __future__ import annotations

import asyncio

from quart import Blueprint, request

from actors.messages.down import SettingsChanged
from battery.site import SnmpV3UserConfig
from observability.log import get_logger
from storage import snmp_settings as ss
from topology.snmp_rules import AUTH_PROTOCOLS, PRIV_PROTOCOLS
from web.access import identity, requires
from web.pages.settings_common import admin_only, checked, field, render_section, saved
from web.ui.context import UiContext

FORMS = ("communities", "user", "user-remove", "receiver", "receiver-remove", "reset")
MAX_SECRET = 1100  # over the rules' 1024, so that a long value is refused by its rule, not cut

log = get_logger("btms.web")


def snmp_routes(pages: Blueprint, ui: UiContext) -> None:
    admin = admin_only(ui)
    base = ui.topology.services.snmp

    async def show(status: int = 200, errors: dict | None = None):
        shown = await asyncio.to_thread(ss.shown_snmp, ui.storage_dir, base)
        return await render_section(
            ui,
            "snmp",
            status,
            (errors or {}) | ({"stored": f"Stored SNMP settings {shown.problem}"} if shown.problem else {}),
            shown=shown,
            snmp=shown.snmp,
            user_item=ss.USER,
            receiver_item=ss.RECEIVER,
            auth_protocols=AUTH_PROTOCOLS,
            priv_protocols=PRIV_PROTOCOLS,
        )

    @pages.get("/site/settings/snmp")
    @admin
    async def snmp_page():
        return await show()

    @pages.post("/site/settings/snmp/<form_name>")
    @requires("admin")
    async def save_snmp(form_name: str):
        if form_name not in FORMS:
            return await show(404, {"stored": f"no SNMP settings form {form_name!r}"})
        form = await request.form
        who = identity().name
        try:
            await asyncio.to_thread(_apply, ui, form_name, form, who)
        except ValueError as error:  # the rules' words: keys and well-known names, never a credential
            return await show(400, {form_name: str(error)})
        except OSError as error:
            return await show(500, {form_name: f"not saved: {error.strerror or error}"})
        log.info("SNMP settings changed", form=form_name, by=who)
        if ui.bridge is not None:
            ui.bridge.command(SettingsChanged())
        return saved("snmp", f"snmp-{form_name}")


def _secret(form, name: str) -> str:
    return (form.get(name) or "")[:MAX_SECRET]


def _apply(ui: UiContext, form_name: str, form, who: str) -> None:
    storage, base = ui.storage_dir, ui.topology.services.snmp
    if form_name == "communities":
        communities: dict[str, str | None] = {}
        for key in ss.COMMUNITIES:
            if checked(form, f"off_{key}"):
                communities[key] = None
            elif form.get(key):
                communities[key] = _secret(form, key)
        ss.set_settings(storage, base, who, communities, field(form, "notify_type") or None)
    elif form_name == "user":
        user = SnmpV3UserConfig(
            field(form, "name").strip(),
            _secret(form, "auth_key"),
            _secret(form, "priv_key"),
            field(form, "auth_protocol"),
            field(form, "priv_protocol"),
        )
        ss.add_user(storage, base, user, who)
    elif form_name == "user-remove":
        ss.remove_user(storage, base, field(form, "name"), who)
    elif form_name == "receiver":
        ss.add_receiver(storage, base, field(form, "receiver").strip(), who)
    elif form_name == "receiver-remove":
        ss.remove_receiver(storage, base, field(form, "receiver"), who)
    else:
        ss.reset(storage, base, who)
