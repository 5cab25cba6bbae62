"""The Real-time tab at every level: a table of the level's present values and a bar graph.

The page is rendered with the level's present model (web/live/tables.py); realtime.js then
keeps it live from the level's event stream (web/live/stream.py), sorts and pages the table,
draws the chosen parameter across the children with its alarm limits, and downloads both.
"""

from __future__ import annotations

from quart import Blueprint

from web.live.changes import SITE, string_key, ups_key
from web.live.tables import DEFAULT_PAGE_SIZE, PAGE_SIZES
from web.pages.levels import level_pages
from web.ui.context import UiContext
from web.ui.frame import Level
from web.ui.render import render_page


def live_key(level: Level) -> str:
    return {"site": SITE, "ups": ups_key(level.id), "string": string_key(level.id)}[level.kind]


def stream_url(level: Level) -> str:
    return {"site": "/live/site", "ups": f"/live/ups/{level.id}", "string": f"/live/strings/{level.id}"}[level.kind]


def realtime_pages(ui: UiContext) -> Blueprint:
    pages = Blueprint("realtime", __name__)
    assert ui.live is not None, "create_app gives the context its LiveHub before the pages"
    hub = ui.live

    async def show(level: Level):
        snapshot = hub.snapshot(live_key(level))
        return await render_page(
            ui,
            "realtime.html",
            level,
            "realtime",
            model=snapshot.model,
            version=snapshot.version,
            stream=stream_url(level),
            page_sizes=PAGE_SIZES,
            page_size=DEFAULT_PAGE_SIZE,
        )

    level_pages(pages, ui.topology, "realtime", show)
    return pages
