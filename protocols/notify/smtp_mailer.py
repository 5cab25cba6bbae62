"""Sending one e-mail over SMTP (aiosmtplib): plain, STARTTLS or implicit TLS, optional AUTH.

Every failure becomes a MailError whose text is what the e-mail log shows, including the steps
before the connection (a CA file that cannot be read, a header the message cannot carry): a
send that raised anything else would end the notifier's worker instead of being logged.
Refused connections and TLS failures are OSErrors, not SMTPExceptions (PROTOCOLS.md §5).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

SECURITY_MODES = ("none", "starttls", "tls")


class MailError(Exception):
    """The e-mail was not accepted; str() is the text for the e-mail log."""


def tls_context(security: str, ca_file: str) -> ssl.SSLContext | None:
    """The context that verifies the server (system CAs, or `ca_file` alone); None for "none".

    A CA file that is missing or holds no certificate raises MailError "SSL: ..." naming it.
    """
    if security == "none":
        return None
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except OSError as e:  # FileNotFoundError, PermissionError, ssl.SSLError (not a PEM certificate)
        raise MailError(f"SSL: cannot use CA file {ca_file!r} (smtp.ca_file): {type(e).__name__}: {e}") from e


def build_message(sender: str, to: Sequence[str], subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="btms.invalid")
    msg.set_content(body)
    return msg


async def send_mail(
    *,
    host: str,
    port: int,
    sender: str,
    to: Sequence[str],
    subject: str,
    body: str,
    security: str = "starttls",
    username: str = "",
    password: str = "",
    timeout_s: float = 10.0,
    ca_file: str = "",
) -> None:
    """Deliver one message to the SMTP server; raises MailError when it is not accepted."""
    if not host or not sender:
        raise MailError("SMTP server not configured")
    if security not in SECURITY_MODES:
        raise MailError(f"SMTP security {security!r} is not one of {SECURITY_MODES}")
    if not to:
        raise MailError("no recipient")
    try:
        context = tls_context(security, ca_file)
        message = build_message(sender, to, subject, body)
        await asyncio.wait_for(
            aiosmtplib.send(
                message,
                hostname=host,
                port=port,
                use_tls=security == "tls",
                start_tls=security == "starttls",
                tls_context=context,
                username=username or None,
                password=password or None,
                timeout=timeout_s,
            ),
            timeout_s * 3,  # connect + TLS + AUTH + DATA each have timeout_s; never hang forever
        )
    except (TimeoutError, aiosmtplib.SMTPException, OSError, ValueError) as e:
        # ValueError: a header with a line break, an address the library refuses
        raise MailError(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__) from e
