"""The Settings tab at the data-center and UPS levels (a string's own settings are another page).

At the data center: the site's settings in sections (web/pages/settings_*.py), for
administrators. At a UPS: links to its strings' settings pages.
"""

from __future__ import annotations

from quart import Blueprint, abort, redirect

from web.pages.settings_common import admin_only
from web.pages.settings_exports import exports_routes
from web.pages.settings_host import host_routes
from web.pages.settings_notify import notify_routes
from web.pages.settings_project import project_routes
from web.pages.settings_snmp import snmp_routes
from web.pages.settings_users import users_routes
from web.ui.context import UiContext
from web.ui.frame import level_of
from web.ui.render import render_page


def settings_pages(ui: UiContext) -> Blueprint:
    pages = Blueprint("settings", __name__)

    @pages.get("/site/settings")
    @admin_only(ui)
    async def first_section():
        return redirect("/site/settings/users", 303)

    @pages.get("/ups/<ups_id>/settings")
    async def ups_settings(ups_id: str):
        try:
            level = level_of(ui.topology, "ups", ups_id)
        except KeyError:
            abort(404)
        return await render_page(ui, "settings/ups.html", level, "settings", ups=ui.topology.ups(ups_id))

    for add in (users_routes, notify_routes, snmp_routes, host_routes, project_routes, exports_routes):
        add(pages, ui)
    return pages
