"""The browser UI's pages, one blueprint per tab (and the log-in and kiosk pages).

`register_pages` is the one list of them; each module's factory takes the UiContext.
"""

from __future__ import annotations

from quart import Quart

from web.ui.context import UiContext


def register_pages(app: Quart, ui: UiContext) -> None:
    from web.pages.account import account_pages
    from web.pages.alarm import alarm_pages
    from web.pages.discharge import discharge_pages
    from web.pages.history import history_pages
    from web.pages.kiosk import kiosk_pages
    from web.pages.login import login_pages
    from web.pages.realtime import realtime_pages
    from web.pages.settings_site import settings_pages
    from web.pages.string_settings import string_settings_pages

    pages = (login_pages, realtime_pages, history_pages, discharge_pages, alarm_pages, kiosk_pages)
    for make in (*pages, settings_pages, string_settings_pages, account_pages):
        app.register_blueprint(make(ui))
