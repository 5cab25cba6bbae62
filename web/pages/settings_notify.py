"""Settings → E-mail and SMS: the SMTP server, the SMS route (GSM modem or HTTP gateway), and a
test message through the notifier itself, so the test proves what alarms would use.

Credentials are write-only: the form shows whether one is set, an empty field keeps it, a new
value replaces it, a tick removes it. Nothing here logs a value. After a change the gateway is
told (SettingsChanged) and the notifier reads the settings again, without a restart.
"""

from __future__ import annotations

import dataclasses
from contextlib import asynccontextmanager

from quart import Blueprint, request

from actors.messages.down import SendTestNotification, SettingsChanged
from observability.log import get_logger
from storage.notification_edit import change_settings, set_secret_checked
from storage.notification_settings import SMS_METHODS, SMTP_SECURITY, SmsSettings, SmtpSettings
from storage.notification_store import NotificationStore
from storage.settings_db import settings_path
from web.access import identity, requires
from web.pages.settings_common import admin_only, checked, field, render_section, saved
from web.ui.context import UiContext

TEST_TIMEOUT_S = 60.0  # an SMS through a GSM modem can take a minute
# Per form: its prefix, its fields other than credentials, and its credentials (form name -> key).
FORMS = {
    "smtp": (
        "smtp",
        [f.name for f in dataclasses.fields(SmtpSettings) if f.name != "password"],
        {"password": "smtp.password"},
    ),
    "sms": (
        "sms",
        [f.name for f in dataclasses.fields(SmsSettings) if f.name not in ("modem_pin", "http_token")],
        {"modem_pin": "sms.modem_pin", "http_token": "sms.http_token"},
    ),
}

log = get_logger("btms.web")


def notify_routes(pages: Blueprint, ui: UiContext) -> None:
    admin = admin_only(ui)

    @asynccontextmanager
    async def store():
        opened = await NotificationStore.open(settings_path(ui.storage_dir))
        try:
            yield opened
        finally:
            await opened.close()

    async def show(status: int = 200, errors: dict | None = None, tested: dict | None = None):
        async with store() as s:
            try:
                settings, problem = await s.load_settings(), ""
            except ValueError as error:  # stored values a hand edit broke: say so, show the defaults
                settings, problem = None, str(error)
        return await render_section(
            ui,
            "notify",
            status,
            (errors or {}) | ({"stored": problem} if problem else {}),
            smtp=settings.smtp if settings else SmtpSettings(),
            sms=settings.sms if settings else SmsSettings(),
            securities=SMTP_SECURITY,
            methods=SMS_METHODS,
            tested=tested or {},
            me=await _my_contacts(ui),
        )

    @pages.get("/site/settings/notify")
    @admin
    async def notify_page():
        return await show()

    @pages.post("/site/settings/notify/<form_name>")
    @requires("admin")
    async def save(form_name: str):
        if form_name not in FORMS:
            return await show(404, {"stored": f"no settings form {form_name!r}"})
        prefix, names, credentials = FORMS[form_name]
        form = await request.form
        changes = {f"{prefix}.{name}": field(form, name) for name in names if name in form}
        try:
            async with store() as s:
                await change_settings(s, changes)
                for name, key in credentials.items():
                    if checked(form, f"clear_{name}"):
                        await set_secret_checked(s, key, "")
                    elif form.get(name):
                        await set_secret_checked(s, key, form[name])
        except ValueError as error:
            return await show(400, {form_name: str(error)})
        log.info("notification settings changed", form=form_name, keys=sorted(changes), by=identity().name)
        if ui.bridge is not None:
            ui.bridge.command(SettingsChanged())
        return saved("notify", form_name)

    @pages.post("/site/settings/notify-test")
    @requires("admin")
    async def test():
        form = await request.form
        channel, contact = field(form, "channel"), field(form, "contact").strip()
        slot = f"test-{channel}"
        if channel not in ("email", "sms") or not contact:
            return await show(400, {slot: "Give an e-mail address or a phone number to send the test to."})
        if ui.bridge is None:
            return await show(503, {slot: "The notifier is not running in this process."})
        try:
            result = await ui.bridge.request(lambda rid: SendTestNotification(rid, channel, contact), TEST_TIMEOUT_S)
        except TimeoutError:
            return await show(504, {slot: f"The notifier did not answer within {TEST_TIMEOUT_S:.0f} s."})
        if not result.ok:
            return await show(200, {slot: f"Not sent to {contact}: {result.error}"})
        return await show(200, tested={channel: f"Sent to {contact}. It is in the {channel_name(channel)} log."})


def channel_name(channel: str) -> str:
    return "e-mail" if channel == "email" else "SMS"


async def _my_contacts(ui: UiContext) -> dict[str, str]:
    """The administrator's own address and number, offered as where the test goes."""
    import asyncio

    me = await asyncio.to_thread(ui.users.get, identity().name)
    return {"email": me.email if me else "", "sms": me.phone if me else ""}
