"""The browser UI's pages, one blueprint per tab (and the log-in and kiosk pages).

`register_pages` is the one list of them; each module's factory takes the UiContext.
"""

from __future__ import annotations

from quart import Quart

from web.ui.context import UiContext


def register_pages(app: Quart, ui: UiContext) -> None:
    from web.pages.kiosk import kiosk_pages
    from web.pages.login import login_pages
    from web.pages.realtime import realtime_pages

    for make in (login_pages, realtime_pages, kiosk_pages):
        app.register_blueprint(make(ui))
