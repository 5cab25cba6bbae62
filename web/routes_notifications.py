"""The e-mail and SMS logs (the manual's Alarm › E-mails and Alarm › SMS) as JSON and CSV.

Every attempt the notifier made is a row: #, UPS, String, Cell, Alarm, Time, Contact, Status,
Error. At UPS or string level (`ups`, `string`) only that UPS's or string's messages. The CSV
has every row of the filter, newest first, times in the site's time zone with their offset.
"""

from __future__ import annotations

import csv
import io

from quart import Blueprint, Response, jsonify, request

from storage.csv_text import spreadsheet_row
from storage.notification_settings import CHANNELS
from storage.notification_store import LogEntry
from web.alarm_query import level_labels
from web.request_args import NotFound, integer, require_known
from web.ui.context import UiContext
from web.ui.local_time import local_iso

LOG_HEADER = ["#", "UPS", "String", "Cell", "Alarm", "Time", "Contact", "Status", "Error"]
CSV_PAGE_ROWS = 500


def log_row(entry: LogEntry, labels: dict[str, str], time_text: str) -> list[str]:
    """One row of the log as the page and the CSV show it."""
    return [
        str(entry.id),
        labels.get(entry.ups_id or "", entry.ups_id or ""),
        labels.get(entry.string_id or "", entry.string_id or ""),
        f"#{entry.cell_index:03d}" if entry.cell_index else "",
        entry.alarm,
        time_text,
        entry.contact,
        entry.status,
        entry.error,
    ]


def notification_routes(ui: UiContext) -> Blueprint:
    bp = Blueprint("notifications", __name__)
    labels = level_labels(ui.topology)

    def known(channel: str) -> None:
        if channel not in CHANNELS:
            raise NotFound(f"no notification log {channel[:40]!r}: email or sms")

    def where() -> dict:
        ups, string = request.args.get("ups") or None, request.args.get("string") or None
        require_known(ui.topology, ups, string)
        return {"ups_id": ups, "string_id": string}

    @bp.get("/notifications/<channel>")
    async def log(channel: str):
        known(channel)
        entries, total = await ui.alarms.notifications.log(
            channel,
            integer(request.args, "offset", 0, 0, 10**9),
            integer(request.args, "limit", 50, 1, 1000),
            **where(),
        )
        zone = ui.site_settings.read().zone()
        return jsonify(
            {
                "total": total,
                "entries": [
                    {
                        "id": e.id,
                        "ups_id": e.ups_id,
                        "string_id": e.string_id,
                        "cell": e.cell_index,
                        "alarm": e.alarm,
                        "time": local_iso(e.time, zone),
                        "contact": e.contact,
                        "status": e.status,
                        "error": e.error,
                    }
                    for e in entries
                ],
            }
        )

    @bp.get("/notifications/<channel>.csv")
    async def log_csv(channel: str):
        known(channel)
        criteria = where()
        zone = ui.site_settings.read().zone()
        store = ui.alarms.notifications

        async def body():
            out = io.StringIO()
            csv.writer(out).writerow(LOG_HEADER)
            yield out.getvalue().encode()
            offset = 0
            while True:  # bounded pages: the log may hold years of attempts
                entries, _ = await store.log(channel, offset, CSV_PAGE_ROWS, **criteria)
                if not entries:
                    return
                out = io.StringIO()
                w = csv.writer(out)
                for e in entries:
                    w.writerow(spreadsheet_row(log_row(e, labels, local_iso(e.time, zone))))
                yield out.getvalue().encode()
                offset += len(entries)

        name = "e-mails" if channel == "email" else "sms"
        return Response(
            body(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="btms-{name}.csv"'}
        )

    return bp
