"""Secrets are masked in the repr and str of the dataclasses that hold them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from battery.redacted import secrets_masked
from battery.site import SnmpConfig
from protocols.scada.snmp_agent import SnmpV3User


@secrets_masked("token")
@dataclass(frozen=True)
class Account:
    name: str
    token: str = ""


def test_a_set_secret_shows_as_stars_and_an_empty_one_as_empty():
    assert repr(Account("ops", "t0ken-42")) == "Account(name='ops', token='***')"
    assert str(Account("ops", "t0ken-42")) == "Account(name='ops', token='***')"
    assert repr(Account("ops")) == "Account(name='ops', token='')"
    assert Account("ops", "t0ken-42").token == "t0ken-42"  # only the repr changes


def test_naming_a_field_that_does_not_exist_fails_at_once():
    with pytest.raises(TypeError, match="Account2 has no field"):

        @secrets_masked("tokn")
        @dataclass(frozen=True)
        class Account2:
            token: str


def test_snmp_secrets_are_masked():
    user = SnmpV3User("nms", "auth-secret-1", "priv-secret-1")
    config = SnmpConfig(read_community="c0mmunity-9", trap_community=None)
    shown = repr(user) + repr(config)
    assert "secret-1" not in shown and "c0mmunity-9" not in shown
    assert "read_community='***'" in shown and "trap_community=None" in shown
