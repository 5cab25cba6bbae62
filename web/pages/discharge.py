"""The Discharge tab: the level's discharge events, and per event a string and a cell time plot.

The table is rendered here, from the same rows as /api/v1/discharges and its CSV download
(web/discharge_json.py), times in the site's zone; the plots are drawn by
web/static/js/discharge.js from /api/v1/discharges/<n>/series.
"""

from __future__ import annotations

from urllib.parse import urlencode

from quart import Blueprint

from storage.history.reader import UnknownItem
from web.discharge_json import discharge_json
from web.json_quantities import DISCHARGE_JSON
from web.pages.levels import level_pages
from web.ui.context import UiContext
from web.ui.frame import Level
from web.ui.local_time import duration_text
from web.ui.plot_config import discharge_config
from web.ui.render import render_page, site_settings


def discharge_pages(ui: UiContext) -> Blueprint:
    pages = Blueprint("discharge_page", __name__)

    async def show(level: Level):
        ups = level.id if level.kind == "ups" else None
        string = level.id if level.kind == "string" else None
        events, missing = [], ""
        if ui.history is None:
            missing = "This gateway keeps no history."
        else:
            try:
                events = [discharge_json(e) for e in await ui.history.discharge_events(ups, string)]
            except UnknownItem as error:  # nothing stored yet
                missing = str(error)
        query = urlencode({k: v for k, v in (("ups", ups), ("string", string)) if v})
        cells = {s.id: s.battery.count for s in ui.topology.strings}
        return await render_page(
            ui,
            "discharge.html",
            level,
            "discharge",
            events=events,
            missing=missing,
            download="/api/v1/discharges.csv" + (f"?{query}" if query else ""),
            ups_names={u.id: u.name or u.id for u in ui.topology.upses},
            cells=cells,
            duration_text=duration_text,
            figures=DISCHARGE_JSON,
            config=discharge_config(site_settings(ui).time_zone),
        )

    level_pages(pages, ui.topology, "discharge", show)
    return pages
