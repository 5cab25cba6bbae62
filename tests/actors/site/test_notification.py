"""Notification with real parts: an aiosmtpd server (STARTTLS + AUTH), a fake GSM modem on a
pseudo-terminal, an HTTP SMS gateway on 127.0.0.1, and the restart-safe queue in SQLite."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sqlite3
import ssl
import stat
import subprocess
import threading
import time
import tty
from collections.abc import Callable
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from structlog.testing import capture_logs

from actors.site.notifier import NotificationService
from battery.alarms.records import AlarmNotice
from protocols.notify.gsm_modem import ModemError, send_sms_via_modem
from protocols.notify.sms_http import SmsHttpError, send_sms_http
from protocols.notify.smtp_mailer import MailError, send_mail
from storage.notification_settings import NotificationSettings, SmsSettings, SmtpSettings, settings_to_kv
from storage.notification_store import NotificationStore
from storage.secrets_file import read_secrets

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond: Callable[[], object], timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.01)
    raise AssertionError("condition not met before the deadline")


# -- SMTP server -------------------------------------------------------------------------------


class Sink:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


def _auth(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"btms" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)  # handled=False: a 535 reply (PROTOCOLS.md §5)


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("cert")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(d / "key.pem"),
            "-out",
            str(d / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def smtp_server(cert):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    sink, port = Sink(), free_port()
    c = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        tls_context=ctx,
        require_starttls=True,
        authenticator=_auth,
        auth_required=True,
    )
    c.start()
    yield sink, port, str(cert[0])
    c.stop()


def test_send_mail_starttls_auth_and_errors(smtp_server):
    sink, port, ca = smtp_server
    args = {
        "host": "127.0.0.1",
        "port": port,
        "sender": "gw@example.com",
        "subject": "Temperature high",
        "body": "cell 1",
        "security": "starttls",
        "username": "btms",
        "password": "s3cret",
        "timeout_s": 5,
        "ca_file": ca,
    }
    asyncio.run(send_mail(to=["ops@example.com"], **args))
    rcpt, msg = wait_for(lambda: sink.messages and sink.messages[0])
    assert rcpt == ["ops@example.com"] and msg["Subject"] == "Temperature high"
    assert msg.get_payload().strip() == "cell 1"
    with pytest.raises(MailError, match="535"):
        asyncio.run(send_mail(to=["ops@example.com"], **{**args, "password": "wrong"}))
    with pytest.raises(MailError, match="Connect"):
        asyncio.run(send_mail(to=["ops@example.com"], **{**args, "port": free_port()}))
    with pytest.raises(MailError, match="SMTP server not configured"):
        asyncio.run(send_mail(to=["ops@example.com"], **{**args, "host": ""}))


def test_send_mail_reports_every_step_as_a_mail_error(smtp_server, tmp_path):
    """A bad CA file or a header the message cannot carry fails like a refused send: a MailError."""
    sink, port, ca = smtp_server
    not_a_cert = tmp_path / "notes.txt"
    not_a_cert.write_text("not a certificate\n")
    args = {
        "host": "127.0.0.1",
        "port": port,
        "sender": "gw@example.com",
        "to": ["ops@example.com"],
        "subject": "s",
        "body": "b",
        "security": "starttls",
        "username": "btms",
        "password": "s3cret",
        "timeout_s": 5,
    }
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(MailError, match=r"^SSL: cannot use CA file '.*missing\.pem' \(smtp\.ca_file\): FileNotFound"):
        asyncio.run(send_mail(**args, ca_file=missing))
    with pytest.raises(MailError, match=r"^SSL: cannot use CA file '.*notes\.txt' \(smtp\.ca_file\): SSLError"):
        asyncio.run(send_mail(**args, ca_file=str(not_a_cert)))
    with pytest.raises(MailError, match="^ValueError: Header values may not contain linefeed"):
        asyncio.run(send_mail(**{**args, "subject": "two\nlines"}, ca_file=ca))
    assert sink.messages == []


# -- fake GSM modem on a pty ------------------------------------------------------------------------


class FakeModem:
    """Answers AT commands on the master side of a pty; the code under test opens the slave path."""

    def __init__(self, cms_error: int | None = None, echo: bool = True, urc: bool = True) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self._slave = slave
        self.cms_error, self.echo, self.urc = cms_error, echo, urc
        self.sent: list[tuple[str, str]] = []
        self.commands: list[str] = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _write(self, text: str) -> None:
        os.write(self.master, text.encode())

    def _run(self) -> None:
        buf, number = b"", None
        while not self._stop:
            try:
                chunk = os.read(self.master, 1024)
            except OSError:
                return
            buf += chunk
            while True:
                if number is not None:
                    if b"\x1a" not in buf:
                        break
                    text, _, buf = buf.partition(b"\x1a")
                    if self.cms_error is not None:
                        self._write(f"\r\n+CMS ERROR: {self.cms_error}\r\n")
                    else:
                        self.sent.append((number, text.decode()))
                        if self.urc:
                            self._write('\r\n+CMTI: "SM",3\r\n')
                        self._write(f"\r\n+CMGS: {len(self.sent)}\r\n\r\nOK\r\n")
                    number = None
                    continue
                if b"\r" not in buf:
                    break
                line, _, buf = buf.partition(b"\r")
                cmd = line.decode().strip()
                if not cmd:
                    continue
                self.commands.append(cmd)
                if self.echo:
                    self._write(cmd + "\r\n")
                if cmd == "ATE0":
                    self.echo = False
                if cmd == "AT+CPIN?":
                    self._write("\r\n+CPIN: READY\r\n\r\nOK\r\n")
                elif cmd.startswith("AT+CMGS="):
                    number = cmd.split("=", 1)[1].strip('"')
                    self._write("\r\n> ")
                elif cmd.startswith("AT"):
                    self._write("\r\nOK\r\n")
                else:
                    self._write("\r\nERROR\r\n")

    def close(self) -> None:
        self._stop = True
        os.close(self._slave)
        os.close(self.master)


@pytest.fixture
def modem():
    created: list[FakeModem] = []

    def make(**kw) -> FakeModem:
        m = FakeModem(**kw)
        created.append(m)
        return m

    yield make
    for m in created:
        m.close()


def test_modem_sends_text_mode_sms(modem):
    m = modem()
    mr = asyncio.run(send_sms_via_modem(port=m.path, number="+15551234567", text="Voltage high s1", timeout_s=5))
    assert mr == 1 and m.sent == [("+15551234567", "Voltage high s1")]
    assert "AT+CMGF=1" in m.commands and m.commands.index("ATE0") < m.commands.index("AT+CMGF=1")


def test_modem_error_is_reported_with_its_code(modem):
    m = modem(cms_error=500)
    with pytest.raises(ModemError, match=r"\+CMS ERROR: 500"):
        asyncio.run(send_sms_via_modem(port=m.path, number="+15551234567", text="x", timeout_s=5))
    with pytest.raises(ModemError, match="cannot open modem port"):
        asyncio.run(send_sms_via_modem(port=str(m.path) + "-missing", number="+15551234567", text="x"))


# -- HTTP SMS gateway ----------------------------------------------------------------------------------


@pytest.fixture
def sms_gateway():
    received: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            ok = self.headers.get("Authorization") == "Bearer tok"
            received.append(body)
            self.send_response(200 if ok else 401)
            self.end_headers()
            self.wfile.write(b"{}" if ok else b"bad token")

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/sms", received
    srv.shutdown()
    srv.server_close()


def test_http_sms_gateway(sms_gateway):
    url, received = sms_gateway
    asyncio.run(send_sms_http(url=url, number="+15550001", text="hello", token="tok", timeout_s=5))
    assert received == [{"to": "+15550001", "text": "hello"}]
    with pytest.raises(SmsHttpError, match="HTTP 401"):
        asyncio.run(send_sms_http(url=url, number="+15550001", text="hello", token="nope", timeout_s=5))
    with pytest.raises(SmsHttpError, match="refused"):
        asyncio.run(send_sms_http(url=f"http://127.0.0.1:{free_port()}/", number="1234", text="x", timeout_s=5))


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
        wrong = NotificationService(store, "DC1")  # and a refused AUTH, whose error is logged and stored
        wrong.settings = NotificationSettings(smtp=SmtpSettings(**{**settings.smtp.__dict__, "password": "n0t-it"}))
        refused = await wrong.send_test("email", "ops@example.com")
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
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600 and read_secrets(secrets) == {"smtp.password": "s3cret"}
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
