"""Who may read what over SNMP: the v2c community, the SNMPv3 users, and the one view they all get.

pysnmp's engine serves its own MIBs next to ours: its USM table holds every v3 user's
passphrases and localized keys (PYSNMP-USM-MIB, under 1.3.6.1.4.1.20408), the community table
lists the communities (1.3.6.1.6.3.18), the VACM and engine tables describe the security set-up.
A view of 1.3.6.1 handed all of that to anyone who knew the v2c community. So every reader, v2c
and v3, in every context, gets one view: exactly the subtrees the gateway serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pysnmp.entity import config, engine
from pysnmp.proto.secmod.rfc3826.priv import aes as pysnmp_aes

from protocols.scada import snmp_oids as so

# The system group (sysDescr, sysObjectID, sysUpTime...), the UPS-MIB battery group, our enterprise MIB.
READABLE_SUBTREES = (so.SYSTEM_GROUP, so.UPS_MIB_BATTERY, so.ENTERPRISE)
READ_VIEW = "btms-served"
# Of pysnmp's own objects only the system group is served (the controller never reads the rest).
ENGINE_SUBTREES = (so.SYSTEM_GROUP,)
# For write and notify access. Not "": pysnmp 7.1's VACM lets a view name with no entries see
# everything, so "no access" is a view whose one entry excludes the whole tree.
NO_VIEW = "btms-nothing"

_V2C, _USM = 2, 3  # SNMP security models: community-based v2c, user-based (SNMPv3)


@dataclass(frozen=True)
class SnmpV3User:
    """A USM user with authPriv: HMAC-SHA-96 authentication and AES-128 privacy."""

    name: str
    # Never in a repr: a logged or traceback-printed user must not show its passphrases.
    auth_key: str = field(repr=False)  # passphrase, at least 8 characters
    priv_key: str = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.auth_key) < 8 or len(self.priv_key) < 8:
            raise ValueError(f"SNMPv3 user {self.name!r}: auth and priv passphrases need at least 8 characters")


def v2c_security_name(context: str) -> str:
    return "btms-v2c" if not context else f"btms-v2c-{context}"


def configure_access(
    eng: engine.SnmpEngine, read_community: str | None, v3_users: Sequence[SnmpV3User], contexts: Sequence[str]
) -> None:
    """Communities, users and read access to READ_VIEW in each context ("" is the default one).

    v2c has no context field: the community "<community>@<context>" selects a named context.
    Write and notify access go to NO_VIEW: nothing is writable over SNMP.
    """
    for subtree in READABLE_SUBTREES:
        config.add_vacm_view(eng, READ_VIEW, "included", subtree, "")
    config.add_vacm_view(eng, NO_VIEW, "excluded", (1, 3, 6, 1), "")
    if read_community:
        for context in contexts:
            community = read_community if not context else f"{read_community}@{context}"
            config.add_v1_system(eng, v2c_security_name(context), community, contextName=context)
            _grant_read(eng, _V2C, v2c_security_name(context), "noAuthNoPriv", (context,))
    if v3_users:
        _require_aes()
    for user in v3_users:
        config.add_v3_user(
            eng, user.name, config.USM_AUTH_HMAC96_SHA, user.auth_key, config.USM_PRIV_CFB128_AES, user.priv_key
        )
        _grant_read(eng, _USM, user.name, "authPriv", contexts)


def _grant_read(eng: engine.SnmpEngine, model: int, security_name: str, level: str, contexts: Sequence[str]) -> None:
    group = f"btms-{model}-{security_name}"
    config.add_vacm_group(eng, group, model, security_name)
    for context in contexts:
        config.add_context(eng, context)
        config.add_vacm_access(eng, group, context, model, level, "exact", READ_VIEW, NO_VIEW, NO_VIEW)


def _require_aes() -> None:
    """Without the `cryptography` package pysnmp still starts, and every authPriv request fails
    with "Decryption error" at the NMS while nothing in the gateway says why: refuse to start."""
    if pysnmp_aes.PysnmpCryptoError:
        raise ImportError(
            "SNMPv3 users need AES-128 privacy, which pysnmp implements with the Python package 'cryptography' "
            "(47 or newer), and it cannot be imported: install it with pip install 'cryptography>=47'",
            name="cryptography",
        )
