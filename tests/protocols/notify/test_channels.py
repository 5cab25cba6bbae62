"""E-mail over SMTP, SMS through a GSM modem and through an HTTP gateway, each against a real peer."""

from __future__ import annotations

import asyncio

import pytest

from protocols.notify.gsm_modem import ModemError, send_sms_via_modem
from protocols.notify.sms_http import SmsHttpError, send_sms_http
from protocols.notify.smtp_mailer import MailError, send_mail
from tests.notify_support import FakeModem, Sink  # noqa: F401 (used by some tests)
from tests.support import free_port, wait_for


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


def test_http_sms_gateway(sms_gateway):
    url, received = sms_gateway
    asyncio.run(send_sms_http(url=url, number="+15550001", text="hello", token="tok", timeout_s=5))
    assert received == [{"to": "+15550001", "text": "hello"}]
    with pytest.raises(SmsHttpError, match="HTTP 401"):
        asyncio.run(send_sms_http(url=url, number="+15550001", text="hello", token="nope", timeout_s=5))
    with pytest.raises(SmsHttpError, match="refused"):
        asyncio.run(send_sms_http(url=f"http://127.0.0.1:{free_port()}/", number="1234", text="x", timeout_s=5))
