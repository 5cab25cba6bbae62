"""SNMP settings set at run time (Settings → SNMP, `btms snmp`): overrides of topology.yaml's
`services.snmp`, in settings.db's `snmp_overrides`, one row per item.

topology.yaml stays the base: a stored item overrides it, and removing every item (reset)
brings the file's values back. Items:

    read_community, trap_community   "secret" (the value is in secrets.json) or "off"
    notify_type                      "trap" or "inform"
    v3_user/NAME                     "AUTH PRIV" (protocols; the keys are in secrets.json) or "removed"
    trap_receiver/HOST:PORT          "added" or "removed"

Communities and v3 keys are credentials: they live in the secrets file (storage/secrets_file.py),
never in settings.db, which travels with backups and support copies. A change is checked on the
whole resulting configuration with topology.yaml's own rules (topology/snmp_rules.py) before
anything is written; the secrets are written first, then the items and the settings version in
one transaction, so the running gateway (actors/site/runtime_settings.py) sees both at once.
Every change takes settings.db's write lock first, which also serialises the secrets written.
Listening address, port and on/off stay in topology.yaml: they need the agent's socket anew.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from battery.site import SnmpConfig, SnmpV3UserConfig
from storage.secrets_file import read_secrets, secrets_path, update_secrets
from storage.settings_db import settings_path
from storage.settings_version import POLL_READ_TIMEOUT_S, bump_settings_version, read_versioned
from storage.settings_version import SCHEMA as VERSION_SCHEMA
from topology.snmp_rules import AUTH_PROTOCOLS, PRIV_PROTOCOLS, choice_problem, snmp_problems

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS snmp_overrides (
    item TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at REAL NOT NULL
);
"""
    + VERSION_SCHEMA
)
BUSY_TIMEOUT_S = 5.0  # the CLI and the web server wait this long for a writer
READ_TIMEOUT_S = POLL_READ_TIMEOUT_S
COMMUNITIES = ("read_community", "trap_community")
NOTIFY_TYPES = ("trap", "inform")
SECRET, OFF, ADDED, REMOVED = "secret", "off", "added", "removed"
USER, RECEIVER = "v3_user/", "trap_receiver/"

Items = dict[str, str]


def secret_name(item: str, key: str = "") -> str:
    """The secrets file's name of an item's credential: snmp.read_community, snmp.v3_user.NAME.auth_key."""
    return f"snmp.{item.replace('/', '.')}" + (f".{key}" if key else "")


def read_snmp_items(storage_dir: Path, timeout_s: float = READ_TIMEOUT_S) -> tuple[int, Items]:
    """(settings version, every stored item). A missing file or table is (0, {}); never creates."""
    version, rows = read_versioned(
        settings_path(storage_dir), "SELECT item, value FROM snmp_overrides ORDER BY item", timeout_s
    )
    return version, dict(rows)


def effective_snmp(base: SnmpConfig, items: Mapping[str, str], secrets: Mapping[str, str]) -> SnmpConfig:
    """topology.yaml's settings with the stored items applied; not checked (see snmp_problems)."""
    communities = {}
    for key in COMMUNITIES:
        state = items.get(key)
        communities[key] = getattr(base, key) if state is None else secrets.get(secret_name(key), "") or None
        if state == SECRET:
            communities[key] = secrets.get(secret_name(key), "")  # "" when lost: refused as empty
    users = {u.name: u for u in base.v3_users}
    receivers = list(base.trap_receivers)
    for item, value in items.items():
        if item.startswith(USER):
            name = item[len(USER) :]
            users.pop(name, None)
            if value != REMOVED:
                auth, _, priv = value.partition(" ")
                keys = [secrets.get(secret_name(item, k), "") for k in ("auth_key", "priv_key")]
                users[name] = SnmpV3UserConfig(name, keys[0], keys[1], auth, priv)
        elif item.startswith(RECEIVER):
            receiver = item[len(RECEIVER) :]
            if receiver in receivers:
                receivers.remove(receiver)
            if value == ADDED:
                receivers.append(receiver)
    return replace(
        base,
        read_community=communities["read_community"],
        trap_community=communities["trap_community"],
        notify_type=items.get("notify_type", base.notify_type),
        v3_users=tuple(users.values()),
        trap_receivers=tuple(receivers),
    )


def current_snmp(storage_dir: Path, base: SnmpConfig, timeout_s: float = READ_TIMEOUT_S) -> tuple[int, SnmpConfig]:
    """(settings version, the effective settings). ValueError names every rule the stored items
    break (topology.yaml was edited since, or secrets.json lost a value): the caller keeps what it has."""
    version, items = read_snmp_items(storage_dir, timeout_s)
    if not items:
        return version, base
    effective = effective_snmp(base, items, read_secrets(secrets_path(storage_dir)))
    problems = snmp_problems(effective)
    if problems:
        raise ValueError("; ".join(problems))
    return version, effective


@dataclass(frozen=True)
class ShownSnmp:
    """What the settings page and `btms snmp show` show: the settings in force and where each
    comes from. Credentials are in `snmp` but are only ever shown as set or not set."""

    snmp: SnmpConfig  # topology.yaml's when the stored settings break a rule (`problem` says which)
    items: Items
    problem: str = ""

    def source(self, item: str) -> str:
        return "set here" if item in self.items and not self.problem else "topology.yaml"


def shown_snmp(storage_dir: Path, base: SnmpConfig) -> ShownSnmp:
    try:
        _, snmp = current_snmp(storage_dir, base, BUSY_TIMEOUT_S)
    except ValueError as error:
        return ShownSnmp(base, read_snmp_items(storage_dir, BUSY_TIMEOUT_S)[1], f"not applied: {error}")
    return ShownSnmp(snmp, read_snmp_items(storage_dir, BUSY_TIMEOUT_S)[1])


# -- changes -------------------------------------------------------------------------------------


def set_settings(
    storage_dir: Path,
    base: SnmpConfig,
    who: str,
    communities: Mapping[str, str | None] | None = None,
    notify_type: str | None = None,
) -> None:
    """Communities (a value, or None: off; for trap_community off means the read community is
    used) and the notification type, in one change. A notify_type equal to topology.yaml's
    removes the override rather than storing the same value."""
    communities = dict(communities or {})
    for key in communities:
        if key not in COMMUNITIES:
            raise ValueError(f"{key!r} is not a community; expected {' or '.join(COMMUNITIES)}")
    if notify_type is not None:
        problem = choice_problem(notify_type, NOTIFY_TYPES)
        if problem:
            raise ValueError(f"notify_type: {problem}")

    def change(items: Items) -> Items:
        items = items | {key: SECRET if value else OFF for key, value in communities.items()}
        if notify_type is not None:
            items.pop("notify_type", None)
            if notify_type != base.notify_type:
                items["notify_type"] = notify_type
        return items

    _change(storage_dir, base, who, change, {secret_name(key): value for key, value in communities.items()})


def set_community(storage_dir: Path, base: SnmpConfig, key: str, value: str | None, who: str) -> None:
    set_settings(storage_dir, base, who, communities={key: value})


def set_notify_type(storage_dir: Path, base: SnmpConfig, value: str, who: str) -> None:
    set_settings(storage_dir, base, who, notify_type=value)


def add_user(storage_dir: Path, base: SnmpConfig, user: SnmpV3UserConfig, who: str) -> None:
    """A new SNMPv3 user, or new keys and protocols for one of that name."""
    for key, value, choices in (
        ("auth_protocol", user.auth_protocol, AUTH_PROTOCOLS),
        ("priv_protocol", user.priv_protocol, PRIV_PROTOCOLS),
    ):
        problem = choice_problem(value, choices)
        if problem:
            raise ValueError(f"v3_users.{user.name}.{key}: {problem}")
    item = USER + user.name
    secrets = {secret_name(item, "auth_key"): user.auth_key, secret_name(item, "priv_key"): user.priv_key}
    value = f"{user.auth_protocol} {user.priv_protocol}"
    _change(storage_dir, base, who, lambda items: items | {item: value}, secrets)


def remove_user(storage_dir: Path, base: SnmpConfig, name: str, who: str) -> None:
    item = USER + name
    secrets = {secret_name(item, "auth_key"): None, secret_name(item, "priv_key"): None}
    in_base = any(u.name == name for u in base.v3_users)
    _remove(
        storage_dir,
        base,
        who,
        item,
        in_base,
        f"no SNMPv3 user {name!r}",
        lambda s: [u.name for u in s.v3_users],
        secrets,
    )


def add_receiver(storage_dir: Path, base: SnmpConfig, receiver: str, who: str) -> None:
    item = RECEIVER + receiver

    def change(items: Items) -> Items:
        if receiver in effective_snmp(base, items, {}).trap_receivers:
            raise ValueError(f"{receiver} is a trap receiver already")
        return (
            {k: v for k, v in items.items() if k != item} if receiver in base.trap_receivers else items | {item: ADDED}
        )

    _change(storage_dir, base, who, change, {})


def remove_receiver(storage_dir: Path, base: SnmpConfig, receiver: str, who: str) -> None:
    in_base = receiver in base.trap_receivers
    _remove(
        storage_dir,
        base,
        who,
        RECEIVER + receiver,
        in_base,
        f"{receiver} is not a trap receiver",
        lambda s: s.trap_receivers,
        {},
    )


def reset(storage_dir: Path, base: SnmpConfig, who: str) -> None:
    """Every override and its credentials go: topology.yaml's services.snmp applies again."""
    stored = read_secrets(secrets_path(storage_dir))
    _change(storage_dir, base, who, lambda items: {}, {name: None for name in stored if name.startswith("snmp.")})


def _remove(storage_dir, base, who, item, in_base, missing, listed, secrets) -> None:
    def change(items: Items) -> Items:
        if item.split("/", 1)[1] not in listed(effective_snmp(base, items, {})):
            raise ValueError(missing)
        return items | {item: REMOVED} if in_base else {k: v for k, v in items.items() if k != item}

    _change(storage_dir, base, who, change, secrets)


def _change(
    storage_dir: Path,
    base: SnmpConfig,
    who: str,
    change: Callable[[Items], Items],
    secrets: Mapping[str, str | None],
) -> None:
    """Read, change, check, then write the secrets and the items; the settings version moves with
    them. ValueError (nothing written) names every rule the result would break."""
    path = settings_path(storage_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA)
        with db:
            db.execute("BEGIN IMMEDIATE")
            stored = dict(db.execute("SELECT item, value FROM snmp_overrides").fetchall())
            wanted = change(dict(stored))
            current = read_secrets(secrets_path(storage_dir))
            after = {k: v for k, v in ({**current, **secrets}).items() if v}
            problems = snmp_problems(effective_snmp(base, wanted, after))
            if problems:
                raise ValueError("; ".join(problems))
            update_secrets(secrets_path(storage_dir), secrets)
            db.executemany(
                "DELETE FROM snmp_overrides WHERE item = ?", [(i,) for i in sorted(set(stored) - set(wanted))]
            )
            db.executemany(
                "INSERT INTO snmp_overrides (item, value, changed_by, changed_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (item) DO UPDATE SET value = excluded.value, changed_by = excluded.changed_by,"
                " changed_at = excluded.changed_at",
                [(i, v, who, time.time()) for i, v in sorted(wanted.items()) if stored.get(i) != v],
            )
            bump_settings_version(db)
    finally:
        db.close()
