"""The CSV downloads behind the History and Discharge pages' Download buttons.

Each takes the query string of the JSON route it mirrors (a plot's download is the plot's own
query, with `id` or `cell` repeated for each series drawn) and answers the same numbers as CSV
(history_csv.py), times in the site's time zone or in `tz`. They share the JSON routes' query
slots and errors: they are added to the same blueprint.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from quart import Blueprint, Response, request

from battery.site import Topology
from storage.history.reader import HistoryReader
from web.discharge_json import discharge_json
from web.history_args import cells, series_ask, time_zone
from web.history_csv import attachment, discharge_csv, quantity_of, series_csv
from web.history_series import site_series
from web.query_slots import QuerySlot
from web.request_args import integer
from web.site_view import iso

CSV_TYPE = "text/csv; charset=utf-8"


def add_history_csv_routes(
    bp: Blueprint,
    reader: HistoryReader,
    topology: Topology,
    slot: Callable[[], QuerySlot],
    zone: Callable[[], ZoneInfo],
) -> None:
    @bp.get("/series.csv")
    async def series_csv_download():
        """/series as CSV, for one or more ids of one level (`id` repeated): one row per bucket."""
        ask = series_ask(request.args, many=True)
        tz = time_zone(request.args, zone())
        with slot():
            found = [
                await site_series(reader, topology, ask.level, i, ask.quantity, ask.start, ask.end, ask.points)
                for i in ask.ids
            ]
        text = series_csv(ask.ids, ask.quantity, quantity_of(ask.level, ask.quantity), found, tz)
        name = attachment(ask.level, ask.quantity, *ask.ids[:4], iso(ask.start)[:10], iso(ask.end)[:10])
        return Response(text, content_type=CSV_TYPE, headers=name)

    @bp.get("/discharges.csv")
    async def discharges_csv_download():
        """The discharge table as CSV, with the same `ups` and `string` filters as /discharges."""
        tz = time_zone(request.args, zone())
        ups, string = request.args.get("ups"), request.args.get("string")
        with slot():
            events = await reader.discharge_events(ups, string)
        return Response(
            discharge_csv([discharge_json(e) for e in events], tz),
            content_type=CSV_TYPE,
            headers=attachment("discharges"),
        )

    @bp.get("/discharges/<rowid:event_id>/series.csv")
    async def discharge_series_csv_download(event_id: int):
        """/discharges/<n>/series as CSV: the string's quantity, or each `cell` given (repeated)."""
        args = request.args
        quantity = args.get("quantity", "voltage")
        chosen = cells(args)
        points = integer(args, "points", 1000, 1, 5000)
        tz = time_zone(args, zone())
        with slot():
            found = [
                await reader.discharge_event_series(event_id, quantity, cell, points) for cell in chosen or (None,)
            ]
        level = "cell" if chosen else "string"
        names = [f"cell {c}" for c in chosen] if chosen else ["string"]
        text = series_csv(names, quantity, quantity_of(level, quantity), found, tz)
        return Response(text, content_type=CSV_TYPE, headers=attachment(f"discharge-{event_id}", level, quantity))
