"""History routes: time series with server-side downsampling, discharge events, CSV download."""

from __future__ import annotations

import time

from quart import Blueprint, Response, jsonify, request

from storage.history.reader import HistoryReader, UnknownItem
from battery.site import Topology
from web.errors import json_error
from web.request_args import BadRequest, choice, integer, require_known, timestamp
from web.site_view import iso

DAY_S = 86_400.0


def history_routes(reader: HistoryReader, topology: Topology) -> Blueprint:
    bp = Blueprint("history", __name__)

    @bp.get("/snapshot")
    async def level_snapshot():
        """The site (or one UPS) as stored at a time: the last stored scan of each string."""
        at = timestamp(request.args, "at", time.time())
        ups = request.args.get("ups")
        require_known(topology, ups=ups)
        strings = [s for s in topology.strings if not ups or s.ups_id == ups]
        found = {s.id: await reader.string_snapshot(s.id, at) for s in strings}
        return jsonify({"at": iso(at), "ups": ups, "strings": found})

    @bp.get("/series")
    async def series():
        """One quantity of a cell ("A1/3"), string or UPS over [from, to), at most `points` buckets."""
        args = request.args
        level = choice(args, "level", ("cell", "string", "ups"))
        ident = args.get("id")
        if not ident:
            raise BadRequest("'id' is required: a UPS id, a string id, or STRING/CELL for a cell (e.g. A1/3)")
        quantity = args.get("quantity")
        if not quantity:
            raise BadRequest("'quantity' is required, e.g. voltage, current, soc, resistance, temperature")
        end = timestamp(args, "to", time.time())
        start = timestamp(args, "from", end - DAY_S)
        if start >= end:
            raise BadRequest("'from' must be before 'to'")
        points = integer(args, "points", 500, 1, 5000)
        rows = await reader.series(level, ident, quantity, start, end, points)
        return jsonify({
            "level": level, "id": ident, "quantity": quantity, "from": iso(start), "to": iso(end),
            "columns": ["time", "min", "avg", "max"],
            "points": [[iso(t), lo, avg, hi] for t, lo, avg, hi in rows],
        })

    @bp.get("/strings/<string_id>/snapshot")
    async def snapshot(string_id: str):
        at = timestamp(request.args, "at", time.time())
        found = await reader.string_snapshot(string_id, at)
        if found is None:
            return json_error(404, f"no stored scan of string {string_id!r} at or before {iso(at)}")
        return jsonify(found)

    @bp.get("/discharges")
    async def discharges():
        events = await reader.discharge_events(request.args.get("ups"), request.args.get("string"))
        return jsonify({"discharges": events})

    @bp.get("/discharges/<int:event_id>/series")
    async def discharge_series(event_id: int):
        quantity = request.args.get("quantity", "voltage")
        cell = integer(request.args, "cell", 0, 0, 120) or None
        rows = await reader.discharge_event_series(event_id, quantity, cell, integer(request.args, "points", 1000, 1, 5000))
        return jsonify({"event": event_id, "quantity": quantity, "cell": cell,
                        "points": [[iso(t), lo, avg, hi] for t, lo, avg, hi in rows]})

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
        chunks = reader.csv_rows(kind if cell is None else "cells", start, end, args.get("ups"), args.get("string"), cell)
        first = await anext(chunks)  # unknown names fail here, before the 200 is sent

        async def body():
            yield first.encode()
            async for chunk in chunks:
                yield chunk.encode()

        name = f"btms-{kind}-{iso(start)[:10]}-{iso(end)[:10]}.csv"
        return Response(body(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @bp.errorhandler(UnknownItem)
    async def unknown(error: UnknownItem):
        return json_error(404, str(error.args[0] if error.args else error))

    return bp
