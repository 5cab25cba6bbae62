"""The Alarm tab at every level: the alarm table with its filters, and the e-mail and SMS logs.

The table is the AlarmView's (stored rows with the AlarmManager's announced states laid over
them), filtered to the level (the data center, one UPS, one string) and by the form: active
only, one kind, a time range in the site's time zone. Sub-pages as in the manual: Alarms,
E-mails, SMS (`?view=`). Operators see an Acknowledge button on every alarm nobody has
acknowledged; a viewer sees none, and the server refuses a viewer's POST all the same (403).
Download gives the same filter as CSV, through the JSON API's CSV routes.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlencode

from quart import Blueprint, redirect, request

from battery.alarms.kinds import AlarmKind
from battery.commands import AcknowledgeAlarm
from web.access import identity, requires
from web.alarm_query import alarm_criteria, level_labels
from web.errors import json_error
from web.pages.levels import level_pages
from web.pages.login import safe_next
from web.request_args import BadRequest, NotFound
from web.routes_notifications import log_row
from web.ui.context import UiContext
from web.ui.frame import Level
from web.ui.local_time import local_iso, local_text
from web.ui.render import render_page, site_settings
from web.users.roles import allows

PAGE_SIZES = (10, 25, 50, 100)
ACK_SHOWN_WITHIN_S = 5.0  # the acknowledgement comes back from the AlarmManager as a notice
SUBPAGES = (("alarms", "Alarms"), ("emails", "E-mails"), ("sms", "SMS"))


def _kind_label(kind: AlarmKind) -> str:
    if kind.is_cell_limit:
        return f"Cell: {kind.title}"
    if kind.is_string_limit:
        return f"String: {kind.title}"
    return kind.title


KIND_CHOICES = tuple((k.value, _kind_label(k)) for k in AlarmKind)


def _level_criteria(level: Level) -> dict:
    if level.kind == "ups":
        return {"ups": level.id}
    if level.kind == "string":
        return {"string": level.id}
    return {}


def _paging(args) -> tuple[int, int]:
    try:
        size = int(args.get("size", 25))
        number = max(1, int(args.get("page", 1)))
    except ValueError:
        raise BadRequest("'page' and 'size' must be whole numbers") from None
    if size not in PAGE_SIZES:
        raise BadRequest(f"'size' must be one of {', '.join(map(str, PAGE_SIZES))}")
    return number, size


def _pages(number: int, size: int, total: int) -> dict:
    last = max(1, -(-total // size))
    return {
        "number": min(number, last),
        "last": last,
        "first_row": 0 if total == 0 else (min(number, last) - 1) * size + 1,
        "last_row": min(total, min(number, last) * size),
        "total": total,
    }


def alarm_pages(ui: UiContext) -> Blueprint:
    pages = Blueprint("alarm", __name__)
    labels = level_labels(ui.topology)

    def page_url(level: Level, **changes) -> str:
        args = {k: v for k, v in request.args.items() if v}
        args.update({k: str(v) for k, v in changes.items()})
        return f"{level.url('alarm')}?{urlencode(args)}"

    async def show(level: Level):
        view = request.args.get("view", "alarms")
        common = {"subpages": SUBPAGES, "view": view, "page_url": lambda **c: page_url(level, **c)}
        try:
            number, size = _paging(request.args)
            if view in ("emails", "sms"):
                return await _log_page(level, view, number, size, common)
            return await _alarm_page(level, number, size, common)
        except BadRequest as error:
            return await render_page(ui, "alarm.html", level, "alarm", error=str(error), rows=(), **common), 400

    async def _alarm_page(level: Level, number: int, size: int, common: dict):
        zone = site_settings(ui).zone()
        args = {k: v for k, v in request.args.items() if k not in ("ups", "string")} | _level_criteria(level)
        criteria = alarm_criteria(args, ui.topology, zone)
        active_only = request.args.get("active") == "1"
        page = await ui.alarms.view.page(active_only=active_only, offset=(number - 1) * size, limit=size, **criteria)
        download = {k: v for k, v in _level_criteria(level).items()}
        download.update({k: v for k, v in (("kind", criteria["kind"]), ("active", "1" if active_only else "")) if v})
        for name, key in (("from", "since"), ("to", "until")):
            if criteria[key] is not None:
                download[name] = local_iso(criteria[key], zone)
        who = identity()
        return await render_page(
            ui,
            "alarm.html",
            level,
            "alarm",
            rows=page.rows,
            labels=labels,
            paging=_pages(number, size, page.total),
            size=size,
            sizes=PAGE_SIZES,
            kinds=KIND_CHOICES,
            form=request.args,
            may_acknowledge=allows(who.role, "operator"),
            csv_url="/api/v1/alarms.csv?" + urlencode(download),
            here=request.full_path,
            **common,
        )

    async def _log_page(level: Level, view: str, number: int, size: int, common: dict):
        channel = "email" if view == "emails" else "sms"
        where = _level_criteria(level)
        entries, total = await ui.alarms.notifications.log(
            channel, (number - 1) * size, size, ups_id=where.get("ups"), string_id=where.get("string")
        )
        zone = site_settings(ui).zone()
        return await render_page(
            ui,
            "alarm_log.html",
            level,
            "alarm",
            channel=channel,
            rows=[log_row(e, labels, local_text(e.time, zone)) for e in entries],
            statuses=[e.status for e in entries],
            paging=_pages(number, size, total),
            size=size,
            sizes=PAGE_SIZES,
            csv_url=f"/api/v1/notifications/{channel}.csv?" + urlencode(where),
            **common,
        )

    level_pages(pages, ui.topology, "alarm", show)

    @pages.post("/alarm/acknowledge")
    @requires("operator")
    async def acknowledge():
        form = await request.form
        back = safe_next(form.get("next"))
        try:
            alarm_id = int(form.get("alarm", ""))
        except ValueError:
            return json_error(400, "'alarm': send the number of the alarm to acknowledge")
        record = await ui.alarms.view.get(alarm_id)
        if record is None:
            raise NotFound(f"no alarm #{alarm_id}")
        if not record.acknowledged_by:
            ui.bridge.command(AcknowledgeAlarm(alarm_id, identity().name))
            deadline = time.monotonic() + ACK_SHOWN_WITHIN_S
            while time.monotonic() < deadline:  # so the page it returns to shows who acknowledged
                found = await ui.alarms.view.get(alarm_id)
                if found is not None and found.acknowledged_by:
                    break
                await asyncio.sleep(0.05)
        return redirect(back, 303)

    return pages
