"""Notification with real parts: an aiosmtpd server (STARTTLS + AUTH), a fake GSM modem on a
pseudo-terminal, an HTTP SMS gateway on 127.0.0.1, and the restart-safe queue in SQLite."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from actors.site.notifier import NotificationService
from battery.alarms.records import AlarmNotice
from storage.notification_settings import NotificationSettings, SmsSettings, SmtpSettings, settings_to_kv
from storage.notification_store import NotificationStore
from storage.secrets_file import read_secrets
from tests.support import free_port

pytestmark = pytest.mark.integration


# -- SMTP server -------------------------------------------------------------------------------


# -- fake GSM modem on a pty ------------------------------------------------------------------------


# -- HTTP SMS gateway ----------------------------------------------------------------------------------


# -- the notification service end to end ---------------------------------------------------------------


def notice(alarm_id: int, title: str, t: float, event: str = "raised") -> AlarmNotice:
    return AlarmNotice(
        event,
        alarm_id,
        "string_voltage_high",
        title,
        "u1",
        "s1",
        None,
        300.0,
        294.0,
        t,
        None if event == "raised" else t + 1,
        None,
        None,
    )


async def _service(db, settings: NotificationSettings, users: list[tuple[str, str, str]], clock=time.time):
    store = await NotificationStore.open(db)
    await store.save_settings(settings)
    for name, email, phone in users:
        await store._db.execute(
            "INSERT OR REPLACE INTO users (name, email, phone, role) VALUES (?, ?, ?, 'admin')", (name, email, phone)
        )
    await store._db.commit()
    service = NotificationService(store, "DC1", clock)
    await service.reload()
    return store, service


def test_batched_email_and_sms_reach_the_server_and_the_logs(tmp_path, smtp_server, modem):
    sink, port, ca = smtp_server
    m = modem()
    settings = NotificationSettings(
        smtp=SmtpSettings(
            host="127.0.0.1",
            port=port,
            sender="gw@example.com",
            username="btms",
            password="s3cret",
            ca_file=ca,
            timeout_s=5,
        ),
        sms=SmsSettings(method="modem", modem_port=m.path, modem_timeout_s=5),
        batch_window_s=0.3,
    )

    async def run():
        store, service = await _service(
            tmp_path / "settings.db", settings, [("admin", "admin@example.com", "+15550002"), ("devid", "", "")]
        )
        worker = asyncio.create_task(service.run())
        t0 = time.time()
        for i, title in enumerate(["Voltage high", "Current high (charging)", "Current low (discharging)"], 1):
            await service.on_notice(notice(i, title, t0 + i))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            emails, _ = await store.log("email")
            sms, _ = await store.log("sms")
            if emails and sms:
                break
            await asyncio.sleep(0.05)
        worker.cancel()
        await store.close()
        return emails, sms

    emails, sms = asyncio.run(run())
    assert len(sink.messages) == 1  # one batched message, to the one user with an e-mail address
    rcpt, msg = sink.messages[0]
    assert rcpt == ["admin@example.com"] and "3 events from" in msg["Subject"]
    assert "Current low (discharging)" in msg.get_payload()
    assert [(e.status, e.contact) for e in emails] == [("sent", "admin / admin@example.com")]
    assert emails[0].alarm.startswith("3 events from") and emails[0].string_id == "s1"
    assert [e.status for e in sms] == ["sent"] and m.sent[0][0] == "+15550002" and "3 events" in m.sent[0][1]


def test_failed_sends_are_logged_retried_and_survive_a_restart(tmp_path, smtp_server):
    sink, port, ca = smtp_server
    dead_port = free_port()
    now = [1000.0]
    settings = NotificationSettings(
        smtp=SmtpSettings(
            host="127.0.0.1",
            port=dead_port,
            sender="gw@example.com",
            username="btms",
            password="s3cret",
            ca_file=ca,
            timeout_s=2,
        ),
        batch_window_s=10,
        retry_first_s=30,
        retry_max_s=60,
        retry_for_s=3600,
    )
    db = tmp_path / "settings.db"

    async def first_life():
        store, service = await _service(db, settings, [("admin", "admin@example.com", "")], lambda: now[0])
        await service.on_notice(notice(1, "Voltage high", 990.0))
        await service.step()  # window still open: nothing sent
        assert await store.log("email") == ([], 0)
        now[0] = 1011.0
        await service.step()  # window closed: one attempt, refused, rescheduled with back-off
        log, _ = await store.log("email")
        queued = await store.queued()
        await store.close()
        return log, queued

    log, queued = asyncio.run(first_life())
    assert [(e.status, e.alarm) for e in log] == [("failed", "Voltage high")] and "Connect" in log[0].error
    assert len(queued) == 1 and queued[0].attempts == 1 and queued[0].next_attempt_at == pytest.approx(1041.0)

    async def second_life():  # restart: the queued message is still there; the server is now reachable
        fixed = NotificationSettings(
            smtp=SmtpSettings(
                host="127.0.0.1",
                port=port,
                sender="gw@example.com",
                username="btms",
                password="s3cret",
                ca_file=ca,
                timeout_s=5,
            ),
            batch_window_s=10,
            retry_first_s=30,
        )
        store, service = await _service(db, fixed, [], lambda: now[0])
        now[0] = 1042.0
        await service.step()
        log, _ = await store.log("email")
        left = await store.queued()
        await store.close()
        return log, left

    log, left = asyncio.run(second_life())
    assert [e.status for e in log] == ["sent", "failed"] and left == []
    assert len(sink.messages) == 1 and sink.messages[0][1]["Subject"].startswith("DC1: Voltage high")


def test_not_configured_is_logged_once_and_test_buttons(tmp_path, modem):
    m = modem(cms_error=38)

    async def run():
        store, service = await _service(
            tmp_path / "settings.db",
            NotificationSettings(
                batch_window_s=0, sms=SmsSettings(method="modem", modem_port=m.path, modem_timeout_s=5)
            ),
            [("admin", "admin@example.com", "+15550002")],
        )
        await service.on_notice(notice(1, "Voltage high", time.time()))
        await service.step()
        await service.step()
        emails, _ = await store.log("email")
        left = await store.queued()
        ok_mail, err_mail = await service.send_test("email", "x@example.com")
        ok_sms, err_sms = await service.send_test("sms", "+15550009")
        sms_log, _ = await store.log("sms")
        await store.close()
        return emails, left, (ok_mail, err_mail), (ok_sms, err_sms), sms_log

    emails, left, mail, sms, sms_log = asyncio.run(run())
    assert [(e.status, e.error) for e in emails] == [("failed", "SMTP server not configured")]
    assert mail == (False, "SMTP server not configured")
    assert sms == (False, "+CMS ERROR: 38")
    assert sms_log[0].alarm == "Test SMS" and sms_log[0].error == "+CMS ERROR: 38"
    assert [q.channel for q in left] == ["sms"]  # the alarm SMS failed too and waits for its retry


# -- robustness: nothing one message does stops notification ---------------------------------------------


def test_active_sync_and_other_events_notify_nobody(tmp_path):
    async def run():
        store, service = await _service(tmp_path / "settings.db", NotificationSettings(), [("admin", "a@x.org", "")])
        counts = [
            await service.on_notice(notice(1, "Voltage high", 100.0, event=e))
            for e in ("active", "acknowledged", "closed")
        ]
        inbox = await store.inbox("email")
        raised_count = await service.on_notice(notice(1, "Voltage high", 100.0))
        await store.close()
        return counts, inbox, raised_count

    counts, inbox, raised_count = asyncio.run(run())
    assert counts == [0, 0, 0] and inbox == []
    assert raised_count == 1  # e-mail only: SMS is off by default


def test_a_bad_ca_file_is_a_logged_failed_send_that_is_retried(tmp_path, smtp_server):
    sink, port, ca = smtp_server
    now = [1000.0]
    smtp = SmtpSettings(
        host="127.0.0.1",
        port=port,
        sender="gw@example.com",
        username="btms",
        password="s3cret",
        ca_file=str(tmp_path / "gone.pem"),
        timeout_s=5,
    )
    settings = NotificationSettings(smtp=smtp, batch_window_s=0, retry_first_s=30)

    async def run():
        store, service = await _service(
            tmp_path / "settings.db", settings, [("admin", "admin@example.com", "")], lambda: now[0]
        )
        await service.on_notice(notice(1, "Voltage high", 999.0))
        await service.step()
        failed, _ = await store.log("email")
        queued = await store.queued()
        await store.save_settings(
            NotificationSettings(smtp=SmtpSettings(**{**smtp.__dict__, "ca_file": ca}), batch_window_s=0)
        )
        await service.reload()  # the operator fixed the path
        now[0] = 1031.0
        await service.step()
        log, _ = await store.log("email")
        await store.close()
        return failed, queued, log

    failed, queued, log = asyncio.run(run())
    assert [e.status for e in failed] == ["failed"] and failed[0].error.startswith("SSL: cannot use CA file")
    assert len(queued) == 1 and queued[0].attempts == 1  # not a permanent failure: retried
    assert [e.status for e in log] == ["sent", "failed"] and len(sink.messages) == 1


def _settings_db_bytes(db) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))  # with -wal and -shm, as grep sees them


def _our_log_text(caplog, events) -> str:
    """Everything the gateway's code logged: structlog events and stdlib records, but not the
    test SMTP server's own log (aiosmtpd, logger mail.log)."""
    records = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    return repr(events) + "\n".join(records)


def test_the_smtp_password_lives_only_in_the_secrets_file_and_still_authenticates(tmp_path, smtp_server, caplog):
    """The server requires AUTH: a mail that arrives was sent with the password from secrets.json."""
    sink, port, ca = smtp_server
    settings = NotificationSettings(
        smtp=SmtpSettings(
            host="127.0.0.1",
            port=port,
            sender="gw@example.com",
            username="btms",
            password="s3cret",
            ca_file=ca,
            timeout_s=5,
        ),
        batch_window_s=0,
    )
    db = tmp_path / "settings.db"
    caplog.set_level(logging.DEBUG)

    async def run():
        store, _ = await _service(db, settings, [("admin", "admin@example.com", "")])
        await store.close()
        store = await NotificationStore.open(db)  # a restart: the password comes back from the secrets file
        service = NotificationService(store, "DC1")
        await service.reload()
        await service.on_notice(notice(1, "Voltage high", time.time()))
        await service.step()
        log, _ = await store.log("email")
        test = await service.send_test("email", "ops@example.com")
        await store.set_secret("smtp.password", "n0t-it")  # a wrong password set: its AUTH is refused,
        refused = await service.send_test("email", "ops@example.com")  # logged and stored
        await store.close()
        return log, test, refused, repr(service.settings)

    with capture_logs() as events:
        log, test, refused, shown = asyncio.run(run())
    assert [e.status for e in log] == ["sent"] and test == (True, "")
    assert not refused[0] and "535" in refused[1]
    assert len(sink.messages) == 2
    assert b"s3cret" not in _settings_db_bytes(db) and b"n0t-it" not in _settings_db_bytes(db)
    assert b"ops@example.com" in _settings_db_bytes(db)  # the attempt log is there: the right bytes were read
    secrets = tmp_path / "secrets.json"
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600 and read_secrets(secrets) == {
        "smtp.password": "n0t-it"
    }  # the last one set
    assert "password='***'" in shown and "s3cret" not in shown
    assert "s3cret" not in _our_log_text(caplog, events) and "n0t-it" not in _our_log_text(caplog, events)


def test_a_clear_password_from_an_older_version_is_moved_and_still_authenticates(tmp_path, smtp_server, caplog):
    sink, port, ca = smtp_server
    db = tmp_path / "settings.db"
    settings = NotificationSettings(
        smtp=SmtpSettings(
            host="127.0.0.1",
            port=port,
            sender="gw@example.com",
            username="btms",
            password="s3cret",
            ca_file=ca,
            timeout_s=5,
        ),
        batch_window_s=0,
    )
    with sqlite3.connect(db) as con:  # as an older gateway (or a hand-written SQL line) left it
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE notification_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        con.executemany(
            "INSERT INTO notification_settings (key, value) VALUES (?, ?)", sorted(settings_to_kv(settings).items())
        )
    assert b"s3cret" in _settings_db_bytes(db)
    caplog.set_level(logging.DEBUG)

    async def run():
        store = await NotificationStore.open(db)
        service = NotificationService(store, "DC1")
        await service.reload()
        result = await service.send_test("email", "ops@example.com")
        await store.close()
        return result

    with capture_logs() as events:
        assert asyncio.run(run()) == (True, "")
    assert len(sink.messages) == 1
    assert b"s3cret" not in _settings_db_bytes(db)
    assert read_secrets(tmp_path / "secrets.json") == {"smtp.password": "s3cret"}
    assert [e["names"] for e in events if e["event"].startswith("credentials moved")] == [["smtp.password"]]
    assert "s3cret" not in _our_log_text(caplog, events)


class BuggySender(NotificationService):
    """A sender with a bug for one contact (raises what no sender should): the others must still go out."""

    async def _send(self, channel: str, contact: str, subject: str, body: str) -> None:
        if contact == "bug@example.com":
            raise KeyError("recipient")
        await super()._send(channel, contact, subject, body)


def test_an_unexpected_send_error_is_a_failed_attempt_for_that_recipient_only(tmp_path, smtp_server):
    sink, port, ca = smtp_server
    settings = NotificationSettings(
        smtp=SmtpSettings(
            host="127.0.0.1",
            port=port,
            sender="gw@example.com",
            username="btms",
            password="s3cret",
            ca_file=ca,
            timeout_s=5,
        ),
        batch_window_s=0,
    )

    async def run():
        store, _ = await _service(
            tmp_path / "settings.db", settings, [("admin", "admin@example.com", ""), ("zed", "bug@example.com", "")]
        )
        service = BuggySender(store, "DC1")
        await service.reload()
        await service.on_notice(notice(1, "Voltage high", time.time()))
        with capture_logs() as logs:
            await service.step()
        log, _ = await store.log("email")
        queued = await store.queued()
        await store.close()
        return log, queued, logs

    log, queued, logs = asyncio.run(run())
    assert sorted((e.contact, e.status, e.error) for e in log) == [
        ("admin / admin@example.com", "sent", ""),
        ("zed / bug@example.com", "failed", "KeyError: 'recipient'"),
    ]
    assert [q.contact for q in queued] == ["bug@example.com"]  # retried later like any failed send
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["notification send failed unexpectedly"]
    assert [rcpt for rcpt, _ in sink.messages] == [["admin@example.com"]]
    assert sink.messages[0][1]["Subject"].startswith("DC1: Voltage high")


def test_the_worker_outlives_a_failing_store(tmp_path):
    """A step that fails (here the store's file is locked by another writer) is logged and retried."""
    db = tmp_path / "settings.db"
    settings = NotificationSettings(batch_window_s=0, retry_first_s=0.05)

    async def run():
        store, service = await _service(db, settings, [("admin", "admin@example.com", "")])
        await store._db.execute("PRAGMA busy_timeout = 0")
        await service.on_notice(notice(1, "Voltage high", time.time()))
        locker = sqlite3.connect(db, timeout=0)
        locker.execute("BEGIN IMMEDIATE")  # moving the inbox to the queue fails: "database is locked"
        with capture_logs() as logs:
            worker = asyncio.create_task(service.run())
            await _until(lambda: any(e["event"].startswith("notification step failed") for e in logs))
            locker.rollback()
            locker.close()
            await _until_async(lambda: store.log("email"), lambda r: r[1] >= 1)
            alive = not worker.done()
            worker.cancel()
        log, _ = await store.log("email")
        await store.close()
        return alive, log

    alive, log = asyncio.run(run())
    assert alive
    assert [(e.status, e.error) for e in log] == [("failed", "SMTP server not configured")]


async def _until(cond: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.01)  # yields to the worker under test; the deadline bounds the wait


async def _until_async(query, cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond(await query()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.01)


def test_an_alarm_notified_while_the_disk_is_full_is_mailed_once_there_is_room(tmp_path, smtp_server):
    """The inbox is a table: on a full disk the event waits in memory instead of being lost."""
    from tests.support import fill_disk, small_disk

    sink, port, ca = smtp_server
    settings = NotificationSettings(
        smtp=SmtpSettings(
            host="127.0.0.1",
            port=port,
            sender="gw@example.com",
            username="btms",
            password="s3cret",
            ca_file=ca,
            timeout_s=5,
        ),
        batch_window_s=0,
        retry_first_s=0.05,
    )

    async def run(disk):
        store, service = await _service(disk / "settings.db", settings, [("admin", "admin@example.com", "")])
        filler = fill_disk(disk)
        with capture_logs() as logs:
            await service.on_notice(notice(1, "Storage space low", time.time()))  # must not raise
            worker = asyncio.create_task(service.run())
            sent_while_full = len(sink.messages)
            filler.unlink()
            await _until(lambda: sink.messages)
            worker.cancel()
        await store.close()
        return sent_while_full, logs

    with small_disk(tmp_path / "disk", "8m") as disk:
        sent_while_full, logs = asyncio.run(run(disk))
    assert sent_while_full == 0
    assert len(sink.messages) == 1 and "Storage space low" in sink.messages[0][1]["Subject"]
    held = [e for e in logs if e["event"].startswith("notification events held in memory")]
    assert len(held) == 1 and "full" in held[0]["error"]
