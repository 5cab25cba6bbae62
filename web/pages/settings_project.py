"""Settings → Project and time zone: name, company, URL, owner, the logo, and the time zone
every time of the pages and the CSV files is shown in.

The values are checked by web/ui/site_settings.py and the logo by web/ui/site_logo.py (the same
rules as `btms site`); a page reads them fresh, so a change shows on the next page.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol
from zoneinfo import available_timezones

from quart import Blueprint, Response, abort, request

from observability.log import get_logger
from web.access import identity, requires
from web.pages.settings_common import SECTIONS, Draw, admin_only, field, in_gateway_frame, render_section, saved
from web.ui.site_logo import MAX_LOGO_BYTES, TYPES, LogoError, delete_logo, logo_file, save_logo
from web.ui.site_settings import KEYS, SiteSettingsBook

ZONES = tuple(sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))))
ZONES = ("UTC", *ZONES)

log = get_logger("btms.web")


class ProjectParts(Protocol):
    """What the section uses of a server's UI context (a gateway's or an aggregator's)."""

    storage_dir: Path
    site_settings: SiteSettingsBook


def project_routes(pages: Blueprint, ui: ProjectParts, draw: Draw | None = None, sections=SECTIONS) -> None:
    """draw: how a page is drawn (the gateway's frame at its site without it); sections: the tab's sections."""
    drawn: Draw = draw or in_gateway_frame(ui)  # type: ignore[arg-type]
    admin = admin_only(None, drawn)

    async def show(status: int = 200, errors: dict | None = None, draft: dict | None = None):
        return await render_section(
            None,
            "project",
            status,
            errors,
            draw=drawn,
            sections=sections,
            draft=draft or {},
            zones=ZONES,
            has_logo=logo_file(ui.storage_dir) is not None,
            max_logo_kb=MAX_LOGO_BYTES // 1024,
        )

    @pages.get("/site/settings/project")
    @admin
    async def project_page():
        return await show()

    @pages.post("/site/settings/project")
    @requires("admin")
    async def save_project():
        form = await request.form
        changes = {key: field(form, key) for key in KEYS if key in form}
        try:
            await asyncio.to_thread(ui.site_settings.write, changes)
        except ValueError as error:
            return await show(400, {"project": str(error)}, changes)
        log.info("site settings changed", keys=sorted(changes), by=identity().name)
        return saved("project", "project")

    @pages.post("/site/settings/logo")
    @requires("admin")
    async def upload_logo():
        if (request.content_length or 0) > MAX_LOGO_BYTES + 64 * 1024:
            return await show(413, {"logo": f"the file is too big: at most {MAX_LOGO_BYTES // 1024} kB"})
        upload = (await request.files).get("logo")
        if upload is None or not upload.filename:
            return await show(400, {"logo": "choose a PNG or JPEG file first"})
        data = upload.read(MAX_LOGO_BYTES + 1)
        try:
            await asyncio.to_thread(save_logo, ui.storage_dir, data)
        except LogoError as error:
            return await show(400, {"logo": str(error)})
        log.info("site logo changed", size=len(data), by=identity().name)
        return saved("project", "logo")

    @pages.post("/site/settings/logo/delete")
    @requires("admin")
    async def remove_logo():
        await asyncio.to_thread(delete_logo, ui.storage_dir)
        log.info("site logo removed", by=identity().name)
        return saved("project", "logo-delete")

    @pages.get("/site/logo")
    async def logo():
        """Any logged-in user: it is shown in every page's header."""
        path = logo_file(ui.storage_dir)
        if path is None:
            abort(404)
        data = await asyncio.to_thread(path.read_bytes)
        return Response(
            data,
            mimetype=TYPES[path.suffix],
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-cache"},
        )
