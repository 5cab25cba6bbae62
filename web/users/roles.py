"""The three roles of the browser UI, each allowed what the one before it is, and more.

viewer: reads everything. operator: also acknowledges alarms and switches strings.
admin: also changes settings and users. API tokens carry viewer or operator only: a headless
install changes settings with the `btms` command, which needs the gateway's own account.
"""

from __future__ import annotations

ROLES = ("viewer", "operator", "admin")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role {role!r}: one of {', '.join(ROLES)}")
    return role


def allows(role: str, needed: str) -> bool:
    """True when `role` may do what `needed` may (unknown roles may do nothing)."""
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(check_role(needed))
