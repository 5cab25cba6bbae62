"""Settings → Data exports: make CSV files of a time range, list them, download, delete.

One export runs at a time, in a worker thread (the web server keeps answering); the page shows
its progress and reloads itself until it is done. The range is given in the site's time zone.
Downloads need a session like every page, come as attachments, and name only files the export
folder lists (storage/export_folder.py refuses any other name).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from quart import Blueprint, Response, abort, request

from observability.log import get_logger
from storage.export_folder import (
    DEFAULT_CAP_BYTES,
    MAX_RANGE_DAYS,
    ExportError,
    check_range,
    delete_export,
    export_path,
    list_exports,
    write_export,
)
from storage.history.cancel import CancelToken, QueryCancelled
from storage.history.reader import UnknownItem
from web.access import identity, requires
from web.pages.settings_common import admin_only, field, render_section, saved
from web.ui.context import UiContext
from web.ui.render import site_settings

KINDS = {"strings": ("strings",), "cells": ("cells",), "both": ("strings", "cells")}
log = get_logger("btms.web")


@dataclass
class ExportJob:
    """The export running now (one at a time) and how the last one ended."""

    running: bool = False
    started_at: float = 0.0
    done: int = 0
    total: int = 0
    last_error: str = ""
    last_files: list[str] = dataclass_field(default_factory=list)
    cap_bytes: int = DEFAULT_CAP_BYTES
    cancel: CancelToken = dataclass_field(default_factory=CancelToken)

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total


def parse_local(text: str, zone) -> dt.datetime:
    """A datetime-local field's value ("2026-12-01T00:00") in the site's zone."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ExportError(f"{text[:40]!r} is not a date and time like 2026-12-01T00:00") from None
    return value if value.tzinfo else value.replace(tzinfo=zone)


def exports_routes(pages: Blueprint, ui: UiContext, job: ExportJob | None = None) -> ExportJob:
    admin = admin_only(ui)
    job = job or ExportJob()

    async def show(status: int = 200, errors: dict | None = None, draft: dict | None = None):
        files = await asyncio.to_thread(list_exports, ui.storage_dir)
        now = dt.datetime.now(site_settings(ui).zone()).replace(second=0, microsecond=0, tzinfo=None)
        default = {"start": (now - dt.timedelta(days=1)).isoformat(), "end": now.isoformat(), "kind": "strings"}
        return await render_section(
            ui,
            "exports",
            status,
            errors,
            files=files,
            job=job,
            draft=default | (draft or {}),
            upses=ui.topology.upses,
            used_mb=sum(f.size for f in files) / 1024**2,
            cap_mb=job.cap_bytes // 1024**2,
            max_days=MAX_RANGE_DAYS,
        )

    @pages.get("/site/settings/exports")
    @admin
    async def exports_page():
        return await show()

    @pages.post("/site/settings/exports")
    @requires("admin")
    async def create():
        form = await request.form
        draft = {k: field(form, k) for k in ("start", "end", "kind", "where")}
        if job.running:
            return await show(409, {"export": "An export is running: wait until it is done."}, draft)
        try:
            zone = site_settings(ui).zone()
            start, end = parse_local(draft["start"], zone), parse_local(draft["end"], zone)
            check_range(start, end)
            kinds = KINDS.get(draft["kind"])
            if kinds is None:
                raise ExportError("choose strings, cells or both")
            ups, string = _where(ui, draft["where"])
        except ExportError as error:
            return await show(400, {"export": str(error)}, draft)
        job.running, job.started_at, job.done, job.total, job.last_error = True, time.time(), 0, 0, ""
        job.cancel = CancelToken()
        asyncio.get_running_loop().create_task(_run(ui, job, kinds, start, end, ups, string))
        log.info("export started", start=start.isoformat(), end=end.isoformat(), kinds=kinds, by=identity().name)
        return saved("exports", "export")

    @pages.get("/site/exports/<name>")
    @admin
    async def download(name: str):
        try:
            path = await asyncio.to_thread(export_path, ui.storage_dir, name)
        except ExportError:
            abort(404)
        return Response(
            _file_chunks(path),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{path.name}"'},
        )

    @pages.post("/site/settings/exports/<name>/delete")
    @requires("admin")
    async def delete(name: str):
        try:
            await asyncio.to_thread(delete_export, ui.storage_dir, name)
        except ExportError as error:
            return await show(404, {"files": str(error)})
        log.info("export deleted", name=name, by=identity().name)
        return saved("exports", "export-delete")

    @pages.after_app_serving
    async def stop_export() -> None:
        job.cancel.cancel()  # the worker thread stops at its next string-day; its partial files go

    return job


def _where(ui: UiContext, where: str) -> tuple[str | None, str | None]:
    """ "" (the whole site), "ups:ID" or "string:ID", checked against the topology."""
    kind, _, item = where.partition(":")
    if not where:
        return None, None
    if kind == "ups" and any(u.id == item for u in ui.topology.upses):
        return item, None
    if kind == "string" and any(s.id == item for s in ui.topology.strings):
        return None, item
    raise ExportError(f"{where[:60]!r} is not a UPS or a string of this site")


async def _run(ui: UiContext, job: ExportJob, kinds, start, end, ups, string) -> None:
    try:
        files = await asyncio.to_thread(
            write_export, ui.storage_dir, kinds, start, end, ups, string, job.cap_bytes, job.progress, job.cancel
        )
        job.last_files = [f.name for f in files]
        log.info("export done", files=job.last_files)
    except (ExportError, UnknownItem, ValueError, OSError, QueryCancelled) as error:
        job.last_error = str(error.args[0]) if error.args else str(error)
        log.warning("export failed", error=job.last_error)
    finally:
        job.running = False


async def _file_chunks(path):
    with open(path, "rb") as source:  # noqa: ASYNC230 - each read is done in a worker thread
        while chunk := await asyncio.to_thread(source.read, 64 * 1024):
            yield chunk
