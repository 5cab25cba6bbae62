"""Rendering a page inside the frame: the tree, the tabs, the user, the CSRF token, local time."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from quart import g, render_template

from battery.site import Topology
from web.access import identity
from web.ui.frame import TABS, Level, breadcrumb, tree
from web.ui.local_time import local_iso, local_text
from web.ui.site_logo import logo_file
from web.ui.site_settings import SiteSettings, SiteSettingsBook


class FrameParts(Protocol):
    """What the frame reads of a UI's context (web/ui/context.py, aggregator/ui/context.py)."""

    storage_dir: Path
    site_settings: SiteSettingsBook


class GatewayParts(FrameParts, Protocol):
    topology: Topology


def site_settings(ui: FrameParts) -> SiteSettings:
    """This request's site settings (read once per request)."""
    if "site_settings" not in g:
        g.site_settings = ui.site_settings.read()
    return g.site_settings


def install_template_helpers(app, ui: FrameParts) -> None:
    """Functions every template may call; times always in the site's time zone."""

    def local(timestamp: float | None) -> str:
        return local_text(timestamp, site_settings(ui).zone())

    def local_with_offset(timestamp: float | None) -> str:
        return local_iso(timestamp, site_settings(ui).zone())

    app.jinja_env.globals.update(local_time=local, local_iso=local_with_offset)


async def render_page(ui: GatewayParts, template: str, level: Level, tab: str, **context) -> str:
    return await render_in_frame(ui, template, tree(ui.topology), level, tab, TABS, **context)


async def render_in_frame(ui: FrameParts, template: str, ui_tree, level, tab: str, tabs, **context) -> str:
    """A page inside frame.html for any tree of levels (a gateway's site, an aggregator's gateways).

    A level needs title and url(tab); `account_url` ("" for none) is where the user's name in the
    header leads; `site_logo` False: no logo.
    """
    context.setdefault("account_url", "/account")
    context.setdefault("site_logo", logo_file(ui.storage_dir) is not None)
    return await render_template(
        template,
        ui_tree=ui_tree,
        level=level,
        tab=tab,
        tabs=tabs,
        crumbs=breadcrumb(level),
        who=identity(),
        site=site_settings(ui),
        **context,
    )
