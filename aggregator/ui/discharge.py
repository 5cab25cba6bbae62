"""The Discharge tab: the discharge events the gateways sent, per gateway, with start, end and depth.

Every level lists the events of what it shows: the site every gateway's, a gateway its own, a
string its own, newest first (at most aggregator/discharges.py MAX_EVENTS), in a table shaped
like the gateway's Discharge list. The same rows are /api/v1/discharges and its CSV download
(?gateway=&ups=&string=), the table's Download button.
"""

from __future__ import annotations

import csv
import io
import time
from urllib.parse import urlencode

from quart import Blueprint, Response, abort, jsonify, request

from aggregator.discharges import MAX_EVENTS, DischargeEvent, discharge_events
from aggregator.site_view import iso
from aggregator.store import CONNECTION_ERRORS
from aggregator.ui.context import AggregatorUi
from aggregator.ui.frame import in_frame
from aggregator.ui.levels import SITE, gateway_level, known_gateway, string_level, strings_of
from battery.quantities import quantity
from storage.csv_text import spreadsheet_text
from web.errors import json_error
from web.history_csv import attachment
from web.ui.local_time import duration_text, local_iso
from web.ui.render import site_settings

VOLTAGE, SOC = quantity("string.voltage"), quantity("string.soc")
CSV_HEADER = (
    "gateway",
    "ups",
    "string",
    "start",
    "end",
    "duration [s]",
    f"lowest string voltage [{VOLTAGE.unit_ascii}]",
    f"lowest soc [{SOC.unit_ascii}]",
)
MAX_FILTER = 200


def discharge_pages(ui: AggregatorUi) -> Blueprint:
    pages = Blueprint("aggregator_discharge", __name__, template_folder="templates")

    async def events(gateway: str = "", ups_id: str = "", string_id: str = "") -> list[DischargeEvent]:
        gateways = [gateway] if gateway else sorted(ui.site.gateways)
        if ui.reader is None or not gateways:
            return []
        return await discharge_events(ui.reader.db, gateways, time.time(), ups_id, string_id)

    async def show(level, gateway: str = "", ups_id: str = "", string_id: str = ""):
        missing = ""
        try:
            rows = await events(gateway, ups_id, string_id)
        except CONNECTION_ERRORS as error:
            rows, missing = [], f"PostgreSQL did not answer ({type(error).__name__}): try again."
        query = urlencode({k: v for k, v in (("gateway", gateway), ("ups", ups_id), ("string", string_id)) if v})
        return await in_frame(
            ui,
            "aggregator_discharge.html",
            level,
            "discharge",
            events=rows,
            missing=missing,
            most=MAX_EVENTS,
            download="/api/v1/discharges.csv" + (f"?{query}" if query else ""),
            duration_text=duration_text,
            voltage=VOLTAGE,
            soc=SOC,
        )

    @pages.get("/site/discharge")
    async def site_discharge():
        return await show(SITE)

    @pages.get("/gateways/<gateway>/discharge")
    async def gateway_discharge(gateway: str):
        known_gateway(ui.site, gateway)
        return await show(gateway_level(gateway), gateway)

    @pages.get("/gateways/<gateway>/strings/<ups_id>/<string_id>/discharge")
    async def string_discharge(gateway: str, ups_id: str, string_id: str):
        known_gateway(ui.site, gateway)
        if (ups_id, string_id) not in strings_of(ui.site, gateway):
            abort(404)
        return await show(string_level(gateway, ups_id, string_id), gateway, ups_id, string_id)

    async def asked() -> list[DischargeEvent]:
        args = request.args
        gateway, ups_id, string_id = (args.get(k, "")[:MAX_FILTER] for k in ("gateway", "ups", "string"))
        if gateway and gateway not in ui.site.gateways:
            abort(404, f"no gateway {gateway[:80]!r} has spoken to this aggregator")
        return await events(gateway, ups_id, string_id)

    @pages.get("/api/v1/discharges")
    async def discharges_json():
        """The events, newest first: gateway, ups_id, string_id, start, end (null: ongoing), depth."""
        found = await asked()
        return jsonify({"discharges": [_event_json(e) for e in found], "total": len(found)})

    @pages.get("/api/v1/discharges.csv")
    async def discharges_csv():
        zone = site_settings(ui).zone()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_HEADER)
        for e in await asked():
            texts = [spreadsheet_text(t) for t in (e.gateway, e.ups_id, e.string_id)]
            times = [local_iso(e.start, zone), local_iso(e.end, zone)]
            numbers = ["" if n is None else repr(round(n, 3)) for n in (e.duration_s, e.min_voltage, e.min_soc)]
            writer.writerow([*texts, *times, *numbers])
        return Response(out.getvalue(), content_type="text/csv; charset=utf-8", headers=attachment("discharges"))

    async def unreachable(error: Exception):
        return json_error(503, f"PostgreSQL did not answer: {type(error).__name__}")

    for kind in CONNECTION_ERRORS:
        pages.register_error_handler(kind, unreachable)
    return pages


def _event_json(e: DischargeEvent) -> dict:
    return {
        "gateway": e.gateway,
        "ups_id": e.ups_id,
        "string_id": e.string_id,
        "start": iso(e.start),
        "end": iso(e.end),
        "duration_s": None if e.duration_s is None else round(e.duration_s, 3),
        "min_string_voltage_v": e.min_voltage,
        "min_soc_pct": e.min_soc,
    }
