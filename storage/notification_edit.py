"""Changing notification settings one key at a time: the settings page and `btms notify set`.

The whole set is checked after the change (storage/notification_settings.py names the key of a
bad value) before anything is written, so a refused change leaves the stored settings as they
were. Credentials (SECRET_KEYS) are not changed here: they go through `set_secret`, which keeps
them in the secrets file, and they are shown only as set or not set.
"""

from __future__ import annotations

from collections.abc import Mapping

from storage.notification_settings import SECRET_KEYS, NotificationSettings, settings_from_kv, settings_to_kv
from storage.notification_store import NotificationStore

EDITABLE_KEYS = tuple(k for k in settings_to_kv(NotificationSettings()) if k not in SECRET_KEYS)
MAX_VALUE = 300
MAX_SECRET = 256


def check_value(key: str, value: str, limit: int = MAX_VALUE) -> str:
    """The value without surrounding blanks, or ValueError naming the key (never the value of a secret)."""
    if len(value) > limit or any(c in value for c in "\r\n\0"):
        raise ValueError(f"{key}: at most {limit} characters on one line")
    value = value.strip()
    if key == "sms.http_url" and value and not value.startswith(("https://", "http://")):
        raise ValueError(f"sms.http_url {value[:60]!r} must start with https:// or http://")
    return value


def check_changes(changes: Mapping[str, str]) -> dict[str, str]:
    checked = {}
    for key, value in changes.items():
        if key in SECRET_KEYS:
            raise ValueError(f"{key} is a credential: set it with 'btms secret set {key}' (read from standard input)")
        if key not in EDITABLE_KEYS:
            raise ValueError(f"unknown notification setting {key!r} (known: {', '.join(EDITABLE_KEYS)})")
        checked[key] = check_value(key, value)
    return checked


async def change_settings(store: NotificationStore, changes: Mapping[str, str]) -> NotificationSettings:
    """Apply `changes` (key -> text) over the stored settings; ValueError, and nothing written, if
    any key or the resulting whole is not acceptable."""
    checked = check_changes(changes)
    current = await store.load_settings()
    new = settings_from_kv(settings_to_kv(current) | checked)
    await store.save_settings(new)
    return new


async def set_secret_checked(store: NotificationStore, key: str, value: str) -> None:
    """One credential ("" removes it), refused when it cannot be a credential (too long, a line break)."""
    if key not in SECRET_KEYS:
        raise ValueError(f"{key!r} is not a credential; one of {', '.join(SECRET_KEYS)}")
    if len(value) > MAX_SECRET or any(c in value for c in "\r\n\0"):
        raise ValueError(f"{key}: at most {MAX_SECRET} characters on one line")
    await store.set_secret(key, value)


def shown_settings(settings: NotificationSettings) -> dict[str, str]:
    """Every key with its value, credentials as "set" or "not set" (for `btms notify show`)."""
    kv = settings_to_kv(settings)
    return {k: ("set" if kv[k] else "not set") if k in SECRET_KEYS else kv[k] for k in kv}
