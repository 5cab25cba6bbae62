"""What every section of the site's Settings tab shares: the admin-only rule, the section
navigation, and how a form's result is shown (a saved notice, or the error next to the form).

A POST that succeeds answers 303 to its section with `?saved=<form>` (reloading the page does
not post again); one that fails renders the section with status 400 and the message next to the
form that was sent. Sections are separate pages, so each stays short on a 1366x768 screen.

A page is drawn in the gateway's frame at its site unless `draw` says otherwise: the aggregator
serves the Users section in its own frame (aggregator/ui/settings.py) with the same rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from quart import redirect, request

from web.access import identity
from web.form_fields import checked, field  # noqa: F401  (the Settings sections import them from here)
from web.ui.frame import site_level
from web.ui.render import GatewayParts, render_page
from web.users.roles import allows

SECTIONS = (
    ("users", "Users"),
    ("notify", "E-mail and SMS"),
    ("snmp", "SNMP"),
    ("project", "Project and time zone"),
    ("exports", "Data exports"),
    ("host", "Network and NTP"),
)
SAVED = {
    "add": "User added.",
    "user": "User changed.",
    "remove": "User removed.",
    "smtp": "SMTP settings saved.",
    "sms": "SMS settings saved.",
    "snmp-communities": "SNMPv2c settings saved.",
    "snmp-user": "SNMPv3 user saved.",
    "snmp-user-remove": "SNMPv3 user removed.",
    "snmp-receiver": "Trap receiver added.",
    "snmp-receiver-remove": "Trap receiver removed.",
    "snmp-reset": "SNMP settings reset to the topology file's.",
    "project": "Project settings saved.",
    "logo": "Logo saved.",
    "logo-delete": "Logo removed.",
    "export": "Export started.",
    "export-delete": "Export deleted.",
}


Draw = Callable[..., Awaitable[str]]  # (template, **context): a page of the Settings tab in the frame


def in_gateway_frame(ui: GatewayParts) -> Draw:
    async def draw(template: str, **context) -> str:
        return await render_page(ui, template, site_level(ui.topology), "settings", **context)

    return draw


def admin_only(ui: GatewayParts | None, draw: Draw | None = None) -> Callable:
    """A page decorator: anyone but an administrator gets 403, as a page in the frame."""
    drawn = draw or in_gateway_frame(ui)  # type: ignore[arg-type]

    def decorate(view: Callable[..., Awaitable]) -> Callable[..., Awaitable]:
        @wraps(view)
        async def guarded(*args, **kwargs):
            who = identity()
            if who is None or not allows(who.role, "admin"):
                return await drawn("settings/refused.html"), 403
            return await view(*args, **kwargs)

        return guarded

    return decorate


async def render_section(
    ui: GatewayParts | None,
    section: str,
    status: int = 200,
    errors: dict | None = None,
    draw: Draw | None = None,
    sections: tuple[tuple[str, str], ...] = SECTIONS,
    **context,
):
    """The section's page; `errors` maps a form's name to the message shown next to it."""
    saved = SAVED.get(request.args.get("saved", ""), "")
    body = await (draw or in_gateway_frame(ui))(  # type: ignore[arg-type]
        f"settings/{section}.html",
        sections=sections,
        section=section,
        saved=saved,
        errors=errors or {},
        **context,
    )
    return body, status


def saved(section: str, form: str, path: str = ""):
    return redirect(f"{path or '/site/settings/' + section}?saved={form}", 303)
