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


# net-snmp's names (topology/snmp_rules.py offers these) -> pysnmp's protocol identifiers. AES-192
# and AES-256 are the Blumenthal draft's key extension, as net-snmp's -x AES-192/AES-256.
AUTH_PROTOCOLS = {
    "SHA": config.USM_AUTH_HMAC96_SHA,
    "SHA-224": config.USM_AUTH_HMAC128_SHA224,
    "SHA-256": config.USM_AUTH_HMAC192_SHA256,
    "SHA-384": config.USM_AUTH_HMAC256_SHA384,
    "SHA-512": config.USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS = {
    "AES": config.USM_PRIV_CFB128_AES,
    "AES-192": config.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES-256": config.USM_PRIV_CFB256_AES_BLUMENTHAL,
}


@dataclass(frozen=True)
class SnmpV3User:
    """A USM user with authPriv: HMAC-SHA authentication and AES privacy (by default SHA-96, AES-128)."""

    name: str
    # Never in a repr: a logged or traceback-printed user must not show its passphrases.
    auth_key: str = field(repr=False)  # passphrase, at least 8 characters
    priv_key: str = field(repr=False)
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"

    def __post_init__(self) -> None:
        if len(self.auth_key) < 8 or len(self.priv_key) < 8:
            raise ValueError(f"SNMPv3 user {self.name!r}: auth and priv passphrases need at least 8 characters")
        if self.auth_protocol not in AUTH_PROTOCOLS or self.priv_protocol not in PRIV_PROTOCOLS:
            raise ValueError(f"SNMPv3 user {self.name!r}: unknown protocol {self.auth_protocol}/{self.priv_protocol}")


@dataclass
class Grants:
    """What configure_access added to an engine, so that revoke_access can take it out again."""

    communities: list[str] = field(default_factory=list)  # community indexes (= v2c security names)
    groups: list[tuple[int, str]] = field(default_factory=list)  # (security model, security name)
    access: list[tuple[str, str, int, str]] = field(default_factory=list)  # (group, context, model, level)
    users: list[str] = field(default_factory=list)


def v2c_security_name(context: str) -> str:
    return "btms-v2c" if not context else f"btms-v2c-{context}"


def configure_access(
    eng: engine.SnmpEngine, read_community: str | None, v3_users: Sequence[SnmpV3User], contexts: Sequence[str]
) -> Grants:
    """Communities, users and read access to READ_VIEW in each context ("" is the default one).

    v2c has no context field: the community "<community>@<context>" selects a named context.
    Write and notify access go to NO_VIEW: nothing is writable over SNMP. Returns what was
    granted: `revoke_access` takes it away again when the settings change at run time.
    """
    grants = Grants()
    for subtree in READABLE_SUBTREES:
        config.add_vacm_view(eng, READ_VIEW, "included", subtree, "")
    config.add_vacm_view(eng, NO_VIEW, "excluded", (1, 3, 6, 1), "")
    for context in contexts:
        config.add_context(eng, context)
    if read_community:
        for context in contexts:
            community = read_community if not context else f"{read_community}@{context}"
            config.add_v1_system(eng, v2c_security_name(context), community, contextName=context)
            grants.communities.append(v2c_security_name(context))
            _grant_read(eng, grants, _V2C, v2c_security_name(context), "noAuthNoPriv", (context,))
    if v3_users:
        _require_aes()
    for user in v3_users:
        config.add_v3_user(
            eng,
            user.name,
            AUTH_PROTOCOLS[user.auth_protocol],
            user.auth_key,
            PRIV_PROTOCOLS[user.priv_protocol],
            user.priv_key,
        )
        grants.users.append(user.name)
        _grant_read(eng, grants, _USM, user.name, "authPriv", contexts)
    return grants


def revoke_access(eng: engine.SnmpEngine, grants: Grants) -> None:
    """Take out every community, user, group and access entry configure_access added. pysnmp's
    security and access models notice the changed tables on the next request (their caches
    follow the tables' version), so a removed community or user is refused from then on."""
    for index in grants.communities:
        config.delete_v1_system(eng, index)
    for name in grants.users:
        config.delete_v3_user(eng, name)
    for group, context, model, level in grants.access:
        config.delete_vacm_access(eng, group, context, model, level)
    for model, security_name in grants.groups:
        config.delete_vacm_group(eng, model, security_name)


def _grant_read(
    eng: engine.SnmpEngine, grants: Grants, model: int, security_name: str, level: str, contexts: Sequence[str]
) -> None:
    group = f"btms-{model}-{security_name}"
    config.add_vacm_group(eng, group, model, security_name)
    grants.groups.append((model, security_name))
    for context in contexts:
        config.add_vacm_access(eng, group, context, model, level, "exact", READ_VIEW, NO_VIEW, NO_VIEW)
        grants.access.append((group, context, model, level))


def _require_aes() -> None:
    """Without the `cryptography` package pysnmp still starts, and every authPriv request fails
    with "Decryption error" at the NMS while nothing in the gateway says why: refuse to start."""
    if pysnmp_aes.PysnmpCryptoError:
        raise ImportError(
            "SNMPv3 users need AES-128 privacy, which pysnmp implements with the Python package 'cryptography' "
            "(47 or newer), and it cannot be imported: install it with pip install 'cryptography>=47'",
            name="cryptography",
        )
