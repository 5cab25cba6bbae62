"""Notification settings (SMTP, SMS, batching, retries) as typed values over a key/value table.

The settings pages write keys like "smtp.host"; `settings_from_kv` turns them into frozen
dataclasses and names the key of any bad value. There are no default credentials: an empty
host or sender means "not configured", which the e-mail log reports as such. The values of
SECRET_KEYS are kept out of settings.db (notification_store.py) and out of every repr.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from battery.redacted import secrets_masked

SMTP_SECURITY = ("none", "starttls", "tls")
SMS_METHODS = ("off", "modem", "http")
CHANNELS = ("email", "sms")
# Credentials: stored in <storage>/secrets.json (mode 0600), never in settings.db or a log line.
SECRET_KEYS = ("smtp.password", "sms.modem_pin", "sms.http_token")


@secrets_masked("password")
@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 587
    sender: str = ""  # the From address
    security: str = "starttls"  # "none", "starttls" (port 587) or "tls" (implicit TLS, port 465)
    username: str = ""  # empty: no AUTH
    password: str = ""
    timeout_s: float = 10.0
    ca_file: str = ""  # PEM of a private CA for the server's certificate; "" = system trust store

    @property
    def configured(self) -> bool:
        return bool(self.host and self.sender)


@secrets_masked("modem_pin", "http_token")
@dataclass(frozen=True)
class SmsSettings:
    method: str = "off"  # "off", "modem" (GSM modem on a serial port) or "http" (an SMS gateway)
    modem_port: str = ""  # e.g. /dev/ttyUSB2
    modem_baudrate: int = 115200
    modem_pin: str = ""  # the SIM's PIN, only when the SIM asks for one
    modem_timeout_s: float = 60.0  # the network may take a minute to confirm a message
    http_url: str = ""  # POSTed as JSON {to_field: number, text_field: text}
    http_token: str = ""  # sent as "Authorization: Bearer <token>" when set
    http_to_field: str = "to"
    http_text_field: str = "text"
    http_timeout_s: float = 10.0

    @property
    def configured(self) -> bool:
        if self.method == "modem":
            return bool(self.modem_port)
        if self.method == "http":
            return bool(self.http_url)
        return False


@dataclass(frozen=True)
class NotificationSettings:
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    batch_window_s: float = 30.0  # events within this window after the first go out as one message
    retry_for_s: float = 3600.0  # a failed message is retried for this long, then given up
    retry_first_s: float = 10.0  # first retry delay; doubles each attempt ...
    retry_max_s: float = 600.0  # ... up to this


def _convert(key: str, raw: str, typ: Any) -> Any:
    try:
        if typ in (int, "int"):
            return int(raw)
        if typ in (float, "float"):
            v = float(raw)
            if v < 0:
                raise ValueError("must not be negative")
            return v
    except ValueError as e:
        raise ValueError(f"notification setting {key} = {raw!r}: {e}") from None
    return raw


def _section_from_kv(prefix: str, cls: type, kv: Mapping[str, str]) -> Any:
    values = {}
    for f in dataclasses.fields(cls):
        key = f"{prefix}.{f.name}"
        if key in kv:
            values[f.name] = _convert(key, kv[key], f.type)
    return cls(**values)


def settings_from_kv(kv: Mapping[str, str]) -> NotificationSettings:
    """Build the settings from stored strings; unknown keys and bad values raise ValueError."""
    known = set(settings_to_kv(NotificationSettings()))
    unknown = sorted(k for k in kv if k not in known)
    if unknown:
        raise ValueError(f"unknown notification setting(s): {', '.join(unknown)}")
    smtp = _section_from_kv("smtp", SmtpSettings, kv)
    sms = _section_from_kv("sms", SmsSettings, kv)
    if smtp.security not in SMTP_SECURITY:
        raise ValueError(f"notification setting smtp.security = {smtp.security!r}: one of {SMTP_SECURITY}")
    if sms.method not in SMS_METHODS:
        raise ValueError(f"notification setting sms.method = {sms.method!r}: one of {SMS_METHODS}")
    if not 1 <= smtp.port <= 65535:
        raise ValueError(f"notification setting smtp.port = {smtp.port}: must be 1..65535")
    top = {}
    for f in dataclasses.fields(NotificationSettings):
        if f.name in ("smtp", "sms"):
            continue
        key = f"notify.{f.name}"
        if key in kv:
            top[f.name] = _convert(key, kv[key], f.type)
    return NotificationSettings(smtp=smtp, sms=sms, **top)


def settings_to_kv(s: NotificationSettings) -> dict[str, str]:
    kv: dict[str, str] = {}
    for prefix, section in (("smtp", s.smtp), ("sms", s.sms)):
        for f in dataclasses.fields(section):
            kv[f"{prefix}.{f.name}"] = str(getattr(section, f.name))
    for f in dataclasses.fields(s):
        if f.name not in ("smtp", "sms"):
            kv[f"notify.{f.name}"] = str(getattr(s, f.name))
    return kv


# Per string and alarm kind: (e-mail on, SMS on). Missing entries are on: an alarm nobody
# hears about is worse than one too many e-mails. Alarms without a string use string_id "".
Switches = Mapping[tuple[str, str], tuple[bool, bool]]


def channel_enabled(switches: Switches, string_id: str | None, kind: str, channel: str) -> bool:
    if channel not in CHANNELS:
        raise ValueError(f"notification channel {channel!r}: one of {CHANNELS}")
    email, sms = switches.get((string_id or "", str(kind)), (True, True))
    return email if channel == "email" else sms
