"""The History tab of a gateway and of a string: the gateway's history.html and history.js, fed
from PostgreSQL by /api/v1/gateways/<gateway>/series (and .csv for the Download button).

A gateway's page plots its UPSes (the UPS quantities) or its strings (the string quantities), a
string's page the string; `id` is the device as the gateway publishes it (`UPS-A`, `UPS-A:A1`).
The arguments are the gateway's (web/history_args.py: one parser, so a download is exactly the
plot's buckets); the quantities are those a gateway's History has, read from the records' metric
of the same registry key (`string.voltage`). The buckets are made in PostgreSQL (aggregator/series.py).
/site/history lists the gateways to choose from.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import asyncpg
from quart import Blueprint, Response, abort, jsonify, request

from aggregator.series import TIMEOUT_MS, device_series
from aggregator.site_view import iso
from aggregator.store import CONNECTION_ERRORS
from aggregator.ui.context import AggregatorUi
from aggregator.ui.frame import in_frame
from aggregator.ui.levels import SITE, gateway_level, known_gateway, string_level, strings_of
from battery.quantities import Quantity
from protocols.uplink.naming import STRING_SEPARATOR, string_device_id
from storage.history.schema import STRING_QUANTITIES, UPS_REGISTRY_QUANTITIES
from web.errors import json_error
from web.history_args import SeriesAsk, series_answer, series_ask, time_zone
from web.history_csv import attachment, series_csv
from web.request_args import BadRequest, NotFound
from web.ui.plot_config import RANGES, string_quantities, ups_quantities
from web.ui.render import site_settings

CSV_TYPE = "text/csv; charset=utf-8"
EARLIEST = datetime(1, 1, 2, tzinfo=UTC).timestamp()  # PostgreSQL and Python both hold times from here
QUANTITIES: dict[str, dict[str, Quantity]] = {
    "ups": dict(UPS_REGISTRY_QUANTITIES),
    "string": {name: s.quantity for name, s in STRING_QUANTITIES.items()},
}


def upses_of(ui: AggregatorUi, gateway: str) -> list[str]:
    view = ui.site.gateways.get(gateway)
    return sorted(d for d in (view.devices if view else ()) if d and STRING_SEPARATOR not in d)


def history_pages(ui: AggregatorUi) -> Blueprint:
    pages = Blueprint("aggregator_history", __name__, template_folder="templates")

    def config(gateway: str, kind: str, ident: str, series: dict, quantities: list[dict]) -> dict:
        api = f"/api/v1/gateways/{quote(gateway, safe='')}"
        return {
            "kind": kind,
            "id": ident,
            "zone": site_settings(ui).time_zone,
            "quantities": quantities,
            "series": series,
            "cells": 0,  # a gateway sends its cells by exception: their history is on the gateway
            "series_url": f"{api}/series",
            "csv_url": f"{api}/series.csv",
        }

    @pages.get("/site/history")
    async def site_history():
        gateways = [gateway_level(g) for g in sorted(ui.site.gateways)]
        return await in_frame(ui, "aggregator_choose.html", SITE, "history", choices=gateways, what="history")

    @pages.get("/gateways/<gateway>/history")
    async def gateway_history(gateway: str):
        known_gateway(ui.site, gateway)
        series = {
            "ups": [{"id": u, "label": u} for u in upses_of(ui, gateway)],
            "string": [{"id": string_device_id(u, s), "label": f"{u} / {s}"} for u, s in strings_of(ui.site, gateway)],
        }
        quantities = (ups_quantities() if series["ups"] else []) + (string_quantities() if series["string"] else [])
        shown = config(gateway, "gateway", gateway, series, quantities)
        return await in_frame(ui, "history.html", gateway_level(gateway), "history", config=shown, ranges=RANGES)

    @pages.get("/gateways/<gateway>/strings/<ups_id>/<string_id>/history")
    async def string_history(gateway: str, ups_id: str, string_id: str):
        known_gateway(ui.site, gateway)
        if (ups_id, string_id) not in strings_of(ui.site, gateway):
            abort(404)
        device = string_device_id(ups_id, string_id)
        series = {"string": [{"id": device, "label": f"{ups_id} / {string_id}"}]}
        shown = config(gateway, "string", device, series, string_quantities())
        level = string_level(gateway, ups_id, string_id)
        return await in_frame(ui, "history.html", level, "history", config=shown, ranges=RANGES)

    def asked(gateway: str, many: bool) -> tuple[SeriesAsk, Quantity]:
        if gateway not in ui.site.gateways:
            raise NotFound(f"no gateway {gateway[:80]!r} has spoken to this aggregator")
        ask = series_ask(request.args, many=many)
        if ask.start < EARLIEST:
            raise BadRequest("'from': the range must start in the year 1 or later")
        if ask.level not in QUANTITIES:
            raise BadRequest("'level': ups or string (a gateway's cells are on its own History page)")
        q = QUANTITIES[ask.level].get(ask.quantity)
        if q is None:
            raise BadRequest(f"'quantity': one of {', '.join(QUANTITIES[ask.level])} for level {ask.level}")
        strings = [string_device_id(u, s) for u, s in strings_of(ui.site, gateway)]
        devices = upses_of(ui, gateway) if ask.level == "ups" else strings
        for ident in ask.ids:
            if ident not in devices:
                raise NotFound(f"gateway {gateway[:80]!r} has no {ask.level} {ident[:80]!r}")
        return ask, q

    async def buckets(gateway: str, ident: str, ask: SeriesAsk, q: Quantity):
        if ui.reader is None:
            return []
        return await device_series(ui.reader.db, gateway, ident, q.key, q.resolution, ask.start, ask.end, ask.points)

    @pages.get("/api/v1/gateways/<gateway>/series")
    async def series_json(gateway: str):
        """One quantity of one UPS or string over [from, to): at most `points` buckets of the stored part."""
        ask, q = asked(gateway, many=False)
        rows = await buckets(gateway, ask.ids[0], ask, q)
        return jsonify(series_answer(ask, rows, gateway=gateway))

    @pages.get("/api/v1/gateways/<gateway>/series.csv")
    async def series_csv_download(gateway: str):
        """The plot's buckets as CSV: `id` repeated, one column triple per series."""
        ask, q = asked(gateway, many=True)
        tz = time_zone(request.args, site_settings(ui).zone())
        found = [await buckets(gateway, i, ask, q) for i in ask.ids]
        text = series_csv(ask.ids, ask.quantity, q, found, tz)
        name = attachment(gateway, ask.level, ask.quantity, iso(ask.start)[:10], iso(ask.end)[:10])
        return Response(text, content_type=CSV_TYPE, headers=name)

    @pages.errorhandler(BadRequest)
    async def bad_request(error: BadRequest):
        return json_error(400, str(error))

    @pages.errorhandler(NotFound)
    async def not_found(error: NotFound):
        return json_error(404, str(error))

    @pages.errorhandler(asyncpg.QueryCanceledError)
    async def too_long(error: asyncpg.QueryCanceledError):
        limit = TIMEOUT_MS // 1000
        return json_error(
            503, f"the range holds more records than PostgreSQL buckets in {limit} s: choose a shorter one"
        )

    async def unreachable(error: Exception):
        return json_error(503, f"PostgreSQL did not answer: {type(error).__name__}")

    for kind in CONNECTION_ERRORS:
        pages.register_error_handler(kind, unreachable)
    return pages
