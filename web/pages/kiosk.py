"""The kiosk: a read-only, full-screen overview for a display in the battery room (the BM-HMI's job).

Without a log-in from the addresses the topology lists under services.web.kiosk_clients (and
with a session from anywhere, for trying it out); web/access.py decides. No frame, no links,
no forms: big type, every string's state, SOC and active alarms, kept live by kiosk.js from
/live/kiosk.
"""

from __future__ import annotations

from quart import Blueprint, render_template

from web.live.changes import KIOSK
from web.ui.context import UiContext
from web.ui.render import site_settings


def kiosk_pages(ui: UiContext) -> Blueprint:
    pages = Blueprint("kiosk", __name__)
    assert ui.live is not None, "create_app gives the context its LiveHub before the pages"
    hub = ui.live

    @pages.get("/kiosk")
    async def kiosk():
        snapshot = hub.snapshot(KIOSK)
        return await render_template("kiosk.html", model=snapshot.model, site=site_settings(ui), who=None)

    return pages
