"""SNMP settings set at run time: over topology.yaml's, refused with the loader's own words,
credentials only in secrets.json, every change moving the settings version the gateway polls."""

from __future__ import annotations

import json
import sqlite3

import pytest

from battery.site import SnmpConfig, SnmpV3UserConfig
from storage import snmp_settings as ss
from storage.secrets_file import read_secrets, secrets_path
from storage.settings_db import settings_path

BASE = SnmpConfig(
    enabled=True,
    read_community="yaml-community-1",
    trap_receivers=("192.0.2.10:162",),
    v3_users=(SnmpV3UserConfig("yaml-nms", "yaml-auth-key", "yaml-priv-key"),),
)
NEW_USER = SnmpV3UserConfig("ops", "auth-Key-2468", "priv-Key-1357", "SHA-512", "AES-256")


def test_overrides_apply_over_topology_yaml_and_reset_brings_the_file_back(tmp_path):
    assert ss.current_snmp(tmp_path, BASE) == (0, BASE)  # nothing stored, nothing created
    assert not settings_path(tmp_path).exists()
    ss.set_community(tmp_path, BASE, "read_community", "site-community-9", "ada")
    ss.add_user(tmp_path, BASE, NEW_USER, "ada")
    ss.remove_user(tmp_path, BASE, "yaml-nms", "ada")
    ss.add_receiver(tmp_path, BASE, "198.51.100.7:1162", "ada")
    ss.remove_receiver(tmp_path, BASE, "192.0.2.10:162", "ada")
    ss.set_notify_type(tmp_path, BASE, "inform", "ada")
    version, snmp = ss.current_snmp(tmp_path, BASE)
    assert version == 6
    assert snmp.read_community == "site-community-9" and snmp.notify_type == "inform"
    assert snmp.v3_users == (NEW_USER,)
    assert snmp.trap_receivers == ("198.51.100.7:1162",)

    ss.add_receiver(tmp_path, BASE, "192.0.2.10:162", "ada")  # topology.yaml's again: its "removed" row goes
    assert ss.read_snmp_items(tmp_path)[1].get("trap_receiver/192.0.2.10:162") is None

    ss.reset(tmp_path, BASE, "ada")
    assert ss.current_snmp(tmp_path, BASE)[1] == BASE
    assert not [name for name in read_secrets(secrets_path(tmp_path)) if name.startswith("snmp.")]


def test_credentials_are_in_the_secrets_file_only(tmp_path):
    ss.set_community(tmp_path, BASE, "read_community", "site-community-9", "ada")
    ss.add_user(tmp_path, BASE, NEW_USER, "ada")
    database = settings_path(tmp_path).read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("settings.db-*")
    )  # the WAL too
    for secret in ("site-community-9", NEW_USER.auth_key, NEW_USER.priv_key):
        assert secret.encode() not in database
    secrets = json.loads(secrets_path(tmp_path).read_text())
    assert secrets["snmp.read_community"] == "site-community-9"
    assert secrets["snmp.v3_user.ops.auth_key"] == NEW_USER.auth_key
    assert secrets_path(tmp_path).stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda p: ss.set_community(p, BASE, "read_community", "public", "ada"),
            "read_community: 'public' is a well-known default",
        ),
        (lambda p: ss.set_community(p, BASE, "read_community", "   ", "ada"), "read_community: must not be empty"),
        (
            lambda p: ss.set_community(p, BASE, "trap_community", "private", "ada"),
            "trap_community: 'private' is a well-known",
        ),
        (
            lambda p: ss.add_receiver(p, BASE, "nms.example:99999", "ada"),
            "trap_receivers: 'nms.example:99999' is not HOST:PORT",
        ),
        (lambda p: ss.add_receiver(p, BASE, "192.0.2.10:162", "ada"), "192.0.2.10:162 is a trap receiver already"),
        (lambda p: ss.remove_receiver(p, BASE, "192.0.2.99:162", "ada"), "192.0.2.99:162 is not a trap receiver"),
        (lambda p: ss.remove_user(p, BASE, "nobody", "ada"), "no SNMPv3 user 'nobody'"),
        (lambda p: ss.set_notify_type(p, BASE, "email", "ada"), "notify_type: 'email' is not one of trap, inform"),
        (
            lambda p: ss.add_user(p, BASE, SnmpV3UserConfig("ops", "short", "priv-Key-1357"), "ada"),
            "v3_users.ops.auth_key: must be at least 8 characters (SNMPv3 USM)",
        ),
        (
            lambda p: ss.add_user(p, BASE, SnmpV3UserConfig("ops", "auth-Key-2468", "priv-Key-1357", "MD5"), "ada"),
            "v3_users.ops.auth_protocol: 'MD5' is not one of SHA, SHA-224, SHA-256, SHA-384, SHA-512",
        ),
        (
            lambda p: ss.add_user(p, BASE, SnmpV3UserConfig("bad name", "auth-Key-2468", "priv-Key-1357"), "ada"),
            "v3_users.bad name.name: 'bad name' is not a valid id",
        ),
    ],
)
def test_a_change_that_breaks_a_rule_is_refused_with_the_loaders_words_and_writes_nothing(tmp_path, change, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        change(tmp_path)
    assert ss.current_snmp(tmp_path, BASE) == (0, BASE)
    assert read_secrets(secrets_path(tmp_path)) == {}


def test_the_last_way_in_cannot_be_removed_while_snmp_is_enabled(tmp_path):
    ss.remove_user(tmp_path, BASE, "yaml-nms", "ada")
    with pytest.raises(ValueError, match="enabled: SNMP is enabled but neither read_community nor v3_users is set"):
        ss.set_community(tmp_path, BASE, "read_community", None, "ada")
    receivers_need_a_community = SnmpConfig(enabled=True, v3_users=BASE.v3_users)
    with pytest.raises(ValueError, match="trap_receivers: notifications are sent with SNMPv2c"):
        ss.add_receiver(tmp_path, receivers_need_a_community, "192.0.2.10:162", "ada")


def test_stored_settings_that_a_lost_secret_breaks_are_reported_not_applied(tmp_path):
    ss.set_community(tmp_path, BASE, "read_community", "site-community-9", "ada")
    secrets_path(tmp_path).write_text("{}")
    with pytest.raises(ValueError, match="read_community: must not be empty"):
        ss.current_snmp(tmp_path, BASE)
    with sqlite3.connect(settings_path(tmp_path)) as db:
        assert db.execute("SELECT value, changed_by FROM snmp_overrides").fetchall() == [("secret", "ada")]
