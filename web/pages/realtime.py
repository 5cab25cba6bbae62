"""The Real-time tab: a table of the level's present values (filled in by the live stream)."""

from __future__ import annotations

from quart import Blueprint

from web.pages.levels import level_pages
from web.ui.context import UiContext
from web.ui.frame import Level
from web.ui.render import render_page


def realtime_pages(ui: UiContext) -> Blueprint:
    pages = Blueprint("realtime", __name__)

    async def show(level: Level):
        return await render_page(ui, "realtime.html", level, "realtime", site_json=ui.view.site_json())

    level_pages(pages, ui.topology, "realtime", show)
    return pages
