"""The History tab: time plots of the level's quantities over a chosen range (web/static/js/history.js).

The page itself holds no numbers: it renders the quantities and series the level can plot
(web/ui/plot_config.py) into a data attribute, and the script asks /api/v1/series for each
series, as min/avg/max buckets whatever the range, and /api/v1/series.csv for the download.
"""

from __future__ import annotations

from quart import Blueprint

from web.pages.levels import level_pages
from web.ui.context import UiContext
from web.ui.frame import Level
from web.ui.plot_config import RANGES, history_config
from web.ui.render import render_page, site_settings


def history_pages(ui: UiContext) -> Blueprint:
    pages = Blueprint("history_page", __name__)

    async def show(level: Level):
        config = history_config(ui.topology, level, site_settings(ui).time_zone)
        return await render_page(ui, "history.html", level, "history", config=config, ranges=RANGES)

    level_pages(pages, ui.topology, "history", show)
    return pages
