"""A posted form's fields as the pages read them: cut to a bound length, checkboxes as booleans.

Kept apart from the Settings pages (web/pages/settings_common.py re-exports them) so a page that
is not one of them, such as the account page the aggregator serves too, reads its form the same way.
"""

from __future__ import annotations

MAX_FIELD = 300  # no form field of the pages needs more; longer input is cut, then refused by its check


def field(form, name: str, default: str = "") -> str:
    return (form.get(name) or default)[:MAX_FIELD]


def checked(form, name: str) -> bool:
    return form.get(name) in ("on", "1", "true")
