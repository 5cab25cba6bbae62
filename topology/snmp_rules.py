"""The rules of the SNMP settings, in one place for topology.yaml's `services.snmp` (the loader)
and for the overrides an administrator sets at run time (storage/snmp_settings.py), so that
both refuse the same values with the same words.

Each check returns the message, without the key's path: the loader prefixes the file, line and
key, the run-time settings the key.
"""

from __future__ import annotations

from battery.site import SnmpConfig, SnmpV3UserConfig
from topology.limits import MAX_TEXT_LENGTH
from topology.problems import quoted
from topology.rules import ID_PATTERN, ID_SAYS, SNMP_V3_MIN_KEY, WELL_KNOWN_COMMUNITIES, _host_port

# net-snmp's names (snmpget -a / -x). MD5 and DES are not offered: both are broken.
AUTH_PROTOCOLS = ("SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
PRIV_PROTOCOLS = ("AES", "AES-192", "AES-256")


def receiver_problem(text: str) -> str | None:
    return None if _host_port(text) is not None else f"{quoted(text)} is not HOST:PORT"


def key_problem(secret: str) -> str | None:
    return None if len(secret) >= SNMP_V3_MIN_KEY else f"must be at least {SNMP_V3_MIN_KEY} characters (SNMPv3 USM)"


def community_problem(community: str) -> str | None:
    if not community.strip():
        return "must not be empty"
    if community in WELL_KNOWN_COMMUNITIES:
        return f"{community!r} is a well-known default that every scanner tries; choose your own community"
    return None


def choice_problem(value: str, choices: tuple[str, ...]) -> str | None:
    return None if value in choices else f"{quoted(value)} is not one of {', '.join(choices)}"


def user_problems(user: SnmpV3UserConfig) -> list[tuple[str, str]]:
    """(key, message) of what is wrong with one v3 user."""
    found = []
    if not ID_PATTERN.fullmatch(user.name):
        found.append(("name", f"{quoted(user.name)} {ID_SAYS}"))
    for key in ("auth_key", "priv_key"):
        problem = key_problem(getattr(user, key))
        if problem:
            found.append((key, problem))
    for key, choices in (("auth_protocol", AUTH_PROTOCOLS), ("priv_protocol", PRIV_PROTOCOLS)):
        problem = choice_problem(getattr(user, key), choices)
        if problem:
            found.append((key, problem))
    return found


def config_problems(snmp: SnmpConfig) -> list[tuple[str, str]]:
    """(key, message) of what is wrong with the settings taken together."""
    found = []
    if snmp.trap_community is not None and snmp.trap_community in WELL_KNOWN_COMMUNITIES:
        found.append(("trap_community", community_problem(snmp.trap_community)))
    if snmp.trap_receivers and snmp.trap_community is None and snmp.read_community is None:
        found.append(
            ("trap_receivers", "notifications are sent with SNMPv2c: set trap_community (or read_community) for them")
        )
    if snmp.read_community is not None and snmp.read_community in WELL_KNOWN_COMMUNITIES:
        found.append(("read_community", community_problem(snmp.read_community)))
    elif snmp.enabled and snmp.read_community is None and not snmp.v3_users:
        found.append(
            (
                "enabled",
                "SNMP is enabled but neither read_community nor v3_users is set; there is no default "
                "community, choose one (or configure SNMPv3 users)",
            )
        )
    return found  # type: ignore[return-value]


def snmp_problems(snmp: SnmpConfig) -> list[str]:
    """Every problem of a whole configuration, each as "key: message" (run-time settings)."""
    found = []
    too_long = f"is too long: at most {MAX_TEXT_LENGTH} characters are allowed here"
    for key in ("read_community", "trap_community"):
        text = getattr(snmp, key)
        if text is not None and not text.strip():
            found.append(f"{key}: must not be empty")
        elif text is not None and len(text) > MAX_TEXT_LENGTH:
            found.append(f"{key}: {too_long}")
    for user in snmp.v3_users:
        found.extend(
            f"v3_users.{user.name}.{k}: {too_long}"
            for k in ("auth_key", "priv_key")
            if len(getattr(user, k)) > MAX_TEXT_LENGTH
        )
    for receiver in snmp.trap_receivers:
        problem = receiver_problem(receiver)
        if problem:
            found.append(f"trap_receivers: {problem}")
    names = [u.name for u in snmp.v3_users]
    for user in snmp.v3_users:
        found.extend(f"v3_users.{user.name}.{key}: {message}" for key, message in user_problems(user))
    found.extend(f"v3_users: {name!r} is listed twice" for name in sorted({n for n in names if names.count(n) > 1}))
    found.extend(f"{key}: {message}" for key, message in config_problems(snmp))
    return found
