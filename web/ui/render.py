"""Rendering a page inside the frame: the tree, the tabs, the user, the CSRF token, local time."""

from __future__ import annotations

from quart import g, render_template

from web.access import identity
from web.ui.context import UiContext
from web.ui.frame import TABS, Level, breadcrumb, tree
from web.ui.local_time import local_iso, local_text
from web.ui.site_logo import logo_file
from web.ui.site_settings import SiteSettings


def site_settings(ui: UiContext) -> SiteSettings:
    """This request's site settings (read once per request)."""
    if "site_settings" not in g:
        g.site_settings = ui.site_settings.read()
    return g.site_settings


def install_template_helpers(app, ui: UiContext) -> None:
    """Functions every template may call; times always in the site's time zone."""

    def local(timestamp: float | None) -> str:
        return local_text(timestamp, site_settings(ui).zone())

    def local_with_offset(timestamp: float | None) -> str:
        return local_iso(timestamp, site_settings(ui).zone())

    app.jinja_env.globals.update(local_time=local, local_iso=local_with_offset)


async def render_page(ui: UiContext, template: str, level: Level, tab: str, **context) -> str:
    return await render_template(
        template,
        ui_tree=tree(ui.topology),
        level=level,
        tab=tab,
        tabs=TABS,
        crumbs=breadcrumb(level),
        who=identity(),
        site=site_settings(ui),
        site_logo=logo_file(ui.storage_dir) is not None,
        **context,
    )
