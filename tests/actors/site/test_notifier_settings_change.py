"""A test send proves the settings as saved that moment: changed by another process (`btms notify
set`, the settings page) after the notifier read them, with no reload message in between."""

from __future__ import annotations

import asyncio

import pytest

from actors.site.notifier import NotificationService
from storage.notification_edit import change_settings, set_secret_checked
from storage.notification_store import NotificationStore

pytestmark = pytest.mark.integration


def test_a_test_e_mail_uses_settings_changed_after_the_notifier_read_them(tmp_path, smtp_server):
    sink, port, ca = smtp_server
    db = tmp_path / "settings.db"

    async def run():
        store = await NotificationStore.open(db)
        service = NotificationService(store, "DC1")
        await service.reload()  # as at the gateway's start: nothing configured yet
        other = await NotificationStore.open(db)  # another process: the CLI or the web server
        changes = {"smtp.host": "127.0.0.1", "smtp.port": str(port), "smtp.sender": "gw@example.com"}
        await change_settings(other, changes | {"smtp.username": "btms", "smtp.ca_file": ca, "smtp.timeout_s": "5"})
        await set_secret_checked(other, "smtp.password", "s3cret")
        await other.close()
        try:
            return await service.send_test("email", "ops@example.com")
        finally:
            await store.close()

    ok, error = asyncio.run(run())
    assert (ok, error) == (True, "")
    assert [to for to, _ in sink.messages] == [["ops@example.com"]]
