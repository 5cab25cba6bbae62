"""Settings → Network and NTP: a read-only view of what is configured elsewhere.

The network and the clock belong to the host's operating system: the page shows what the host
reports.
"""

from __future__ import annotations

import asyncio
import time

from quart import Blueprint

from web.pages.settings_common import admin_only, render_section
from web.ui.context import UiContext
from web.ui.host_info import host_name, interfaces, time_service


def host_routes(pages: Blueprint, ui: UiContext) -> None:
    admin = admin_only(ui)

    @pages.get("/site/settings/host")
    @admin
    async def host_page():
        name, nics, clock = await asyncio.gather(
            asyncio.to_thread(host_name), asyncio.to_thread(interfaces), asyncio.to_thread(time_service)
        )
        return await render_section(ui, "host", host=name, interfaces=nics, clock=clock, now=time.time())
