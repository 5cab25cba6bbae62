"""The Settings tab of the aggregator, for administrators: its users, and its project and time zone.

The section is the gateway's (web/pages/settings_users.py, templates settings/users.html and
settings/user.html): the list, a new user with an initial password twice, a user's role and
contact fields, removing a user (their sessions end with them), the last administrator kept;
every POST with its CSRF token, a non-admin refused with 403. It is drawn in the aggregator's
frame with its one section. The Settings tab of a gateway or a string leads here: the
aggregator's settings are the site's. The project section (web/pages/settings_project.py) is
the gateway's too: the project name shown in the header, the time zone every page and CSV file
shows its times in, and the logo.
"""

from __future__ import annotations

from quart import Blueprint, redirect

from aggregator.ui.context import AggregatorUi
from aggregator.ui.frame import in_frame
from aggregator.ui.levels import SITE
from web.pages.settings_project import project_routes
from web.pages.settings_users import users_routes

SECTIONS = (("users", "Users"), ("project", "Project and time zone"))
USERS = "/site/settings/users"


def settings_pages(ui: AggregatorUi) -> Blueprint:
    pages = Blueprint("aggregator_settings", __name__)

    async def draw(template: str, **context) -> str:
        context.setdefault("passwd_command", "btms user passwd NAME --aggregator FILE")
        return await in_frame(ui, template, SITE, "settings", **context)

    users_routes(pages, ui, draw, SECTIONS)
    project_routes(pages, ui, draw, SECTIONS)

    @pages.get("/site/settings")
    @pages.get("/gateways/<gateway>/settings")
    @pages.get("/gateways/<gateway>/strings/<ups_id>/<string_id>/settings")
    async def to_users(**_):
        return redirect(USERS, 303)

    return pages
