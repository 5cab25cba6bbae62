"""History routes: time series with server-side downsampling, discharge events, CSV download.

Every query costs in proportion to the stored data, whatever range is asked (the reader cuts it
to the stored days), runs in a worker thread that a leaving client or a stopping server
cancels, and takes one of its client's few query slots (query_slots.py): past them, 429.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from zoneinfo import ZoneInfo

from quart import Blueprint, Response, jsonify, request

from battery.site import Topology
from storage.history.cancel import QueryCancelled
from storage.history.reader import HistoryReader, UnknownItem
from web.discharge_json import discharge_json
from web.errors import json_error
from web.history_args import DAY_S, series_answer, series_ask
from web.history_series import site_series
from web.query_slots import RETRY_AFTER_S, QuerySlot, QuerySlots, TooManyQueries
from web.request_args import (
    BadRequest,
    choice,
    client_address,
    integer,
    require_known,
    timestamp,
)
from web.routes_history_csv import add_history_csv_routes
from web.site_view import iso


def history_routes(
    reader: HistoryReader,
    topology: Topology,
    slots: QuerySlots | None = None,
    zone: Callable[[], ZoneInfo] = lambda: ZoneInfo("UTC"),
) -> Blueprint:
    """zone: the site's time zone now, for the times of the CSV downloads (routes_history_csv.py)."""
    bp = Blueprint("history", __name__)
    slots = slots or QuerySlots()

    def slot() -> QuerySlot:
        return slots.claim(client_address())

    @bp.get("/snapshot")
    async def level_snapshot():
        """The site (or one UPS) as stored at a time: the last stored scan of each string."""
        at = timestamp(request.args, "at", time.time())
        ups = request.args.get("ups")
        require_known(topology, ups=ups)
        strings = [s for s in topology.strings if not ups or s.ups_id == ups]
        with slot():
            found = {s.id: await reader.string_snapshot(s.id, at) for s in strings}
        return jsonify({"at": iso(at), "ups": ups, "strings": found})

    @bp.get("/series")
    async def series():
        """One quantity of a cell ("A1/3"), string or UPS over [from, to), at most `points` buckets.

        The buckets divide the part of [from, to) that has stored data.
        """
        ask = series_ask(request.args)
        with slot():
            rows = await site_series(
                reader, topology, ask.level, ask.ids[0], ask.quantity, ask.start, ask.end, ask.points
            )
        return jsonify(series_answer(ask, rows))

    @bp.get("/strings/<string_id>/snapshot")
    async def snapshot(string_id: str):
        at = timestamp(request.args, "at", time.time())
        with slot():
            found = await reader.string_snapshot(string_id, at)
        if found is None:
            return json_error(404, f"no stored scan of string {string_id!r} at or before {iso(at)}")
        return jsonify(found)

    @bp.get("/discharges")
    async def discharges():
        """The events with their figures, in the one shape of web/discharge_json.py."""
        with slot():
            events = await reader.discharge_events(request.args.get("ups"), request.args.get("string"))
        return jsonify({"discharges": [discharge_json(e) for e in events]})

    @bp.get("/discharges/<rowid:event_id>/series")
    async def discharge_series(event_id: int):
        quantity = request.args.get("quantity", "voltage")
        cell = integer(request.args, "cell", 0, 0, 120) or None
        points = integer(request.args, "points", 1000, 1, 5000)
        with slot():
            rows = await reader.discharge_event_series(event_id, quantity, cell, points)
        return jsonify(
            {
                "event": event_id,
                "quantity": quantity,
                "cell": cell,
                "points": [[iso(t), lo, avg, hi] for t, lo, avg, hi in rows],
            }
        )

    @bp.get("/export.csv")
    async def export_csv():
        """RFC 4180 CSV of stored scans, streamed in bounded chunks (a year of a site fits)."""
        args = request.args
        kind = choice(args, "kind", ("strings", "cells"), "strings")
        end = timestamp(args, "to", time.time())
        start = timestamp(args, "from", end - DAY_S)
        cell = integer(args, "cell", 0, 0, 120) or None
        if cell is not None and not args.get("string"):
            raise BadRequest("'cell' needs 'string'")
        stream = _held(
            slot(),
            reader.csv_rows(kind if cell is None else "cells", start, end, args.get("ups"), args.get("string"), cell),
        )
        first = await anext(stream)  # unknown names fail here, before the 200 is sent

        async def body():
            try:
                yield first
                async for chunk in stream:
                    yield chunk
            finally:
                await stream.aclose()

        name = f"btms-{kind}-{iso(start)[:10]}-{iso(end)[:10]}.csv"
        return Response(body(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})

    add_history_csv_routes(bp, reader, topology, slot, zone)

    @bp.errorhandler(UnknownItem)
    async def unknown(error: UnknownItem):
        return json_error(404, str(error.args[0] if error.args else error))

    @bp.errorhandler(TooManyQueries)
    async def too_many(error: TooManyQueries):
        return json_error(429, str(error), RETRY_AFTER_S)

    @bp.errorhandler(QueryCancelled)
    async def cancelled(error: QueryCancelled):
        return json_error(503, "the web server is stopping: try again when it is back", RETRY_AFTER_S)

    return bp


async def _held(slot: QuerySlot, chunks: AsyncIterator[str]) -> AsyncIterator[bytes]:
    """A download's chunks as bytes, holding its query slot until the download ends in any way.

    The first chunk is taken by the route itself, so this generator has started: its finally
    runs when the body is closed, and also when a response that never got sent is collected.
    """
    try:
        async for chunk in chunks:
            yield chunk.encode()
    finally:
        slot.release()
        await chunks.aclose()  # type: ignore[attr-defined]
