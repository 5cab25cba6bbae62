"""The OpenAPI description of the JSON API, kept next to the routes it describes.

Every property that carries a measured value is described from the registry of quantities
(battery/quantities.py) through the tables that also render it (web/json_quantities.py for the
live view, storage/history/schema.py for the history): its unit (`x-unit`, and in the text),
resolution, measuring range and meaning cannot differ from what the server sends.
"""

from __future__ import annotations

from typing import Any

from battery.quantities import Quantity
from storage.history.schema import CELL_QUANTITIES, STRING_QUANTITIES, UPS_QUANTITIES, UPS_REGISTRY_QUANTITIES
from web.json_quantities import CELL_JSON, STRING_JSON, UPS_JSON

Schema = dict[str, Any]


def quantity_schema(q: Quantity) -> Schema:
    """One quantity property: a number in the registry's unit, null when not available."""
    return {
        "type": "number",
        "nullable": True,
        "description": f"{q.label} in {q.unit}: {q.description}. Resolution {q.resolution} {q.unit}, "
        f"measuring range {q.range_text()}; null when not available.",
        "x-quantity": q.key,
        "x-unit": q.unit,
        "x-resolution": str(q.resolution),
    }


def _quantities(table: dict[str, Quantity]) -> dict[str, Schema]:
    return {name: quantity_schema(q) for name, q in table.items()}


def _s(kind: str, description: str, **extra: Any) -> Schema:
    return {"type": kind, "description": description, **extra}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


_STATUS = {
    "health": _s("string", "ok, error, disabled; stale or unknown when there is no current data"),
    "stale": _s("boolean", "true: the values are null, the data is older than the freshness threshold"),
    "timestamp": _s("string", "ISO 8601 time of the scan the values come from", format="date-time", nullable=True),
}
_STATE = "float, equalize, discharge, idle, abnormal"

SCHEMAS: dict[str, Schema] = {
    "Ups": {
        "type": "object",
        "properties": {
            "id": _s("string", "UPS id from the topology"),
            "index": _s("integer", "UPS index (Modbus unit id)"),
            "name": _s("string", "UPS name"),
            "string_ids": _s("array", "its strings", items={"type": "string"}),
            **_STATUS,
            **_quantities(UPS_JSON),
            "strings": _s("array", "its strings (GET /ups/{ups_id} only)", items=_ref("String")),
        },
    },
    "String": {
        "type": "object",
        "properties": {
            "id": _s("string", "string id from the topology"),
            "index": _s("integer", "string index (1..32)"),
            "name": _s("string", "string name"),
            "ups_id": _s("string", "its UPS"),
            "cell_count": _s("integer", "batteries in the string"),
            "battery": _s(
                "object",
                "battery type",
                properties={
                    "nominal_voltage_v": _s("integer", "nominal voltage of one battery, V (2, 6 or 12)"),
                    "capacity_ah": _s("number", "capacity of one battery, Ah"),
                },
            ),
            **_STATUS,
            "scan_no": _s("integer", "number of the scan (absent when stale)"),
            **_quantities(STRING_JSON),
            "state": _s("string", f"charge state: {_STATE}", nullable=True),
            "hall_sensor_ok": _s("boolean", "false: the hall sensor is disconnected (current is null)", nullable=True),
            "relay_closed": _s("boolean", "the string's breaker is closed", nullable=True),
            "cells_in_error": _s("integer", "batteries whose health is not ok", nullable=True),
        },
    },
    "Cell": {
        "type": "object",
        "properties": {
            "index": _s("integer", "position in the string, 1 first"),
            **_STATUS,
            "faults": _s(
                "array", "why a reading is not a measurement (no_response, open_circuit, ...)", items={"type": "string"}
            ),
            **_quantities(CELL_JSON),
        },
    },
    "Cells": {
        "type": "object",
        "properties": {
            "string_id": _s("string", "the string"),
            "timestamp": _STATUS["timestamp"],
            "stale": _STATUS["stale"],
            "cells": _s("array", "one per battery", items=_ref("Cell")),
        },
    },
    "Site": {
        "type": "object",
        "properties": {
            "gateway": _s(
                "object",
                "id and name of the gateway; uplink: the link to the aggregator (null without one): state "
                "(down, waiting, connected), outbox_records, dropped_records, detail",
            ),
            "upses": _s("array", "every UPS, without its strings", items=_ref("Ups")),
            "strings": _s("array", "every string", items=_ref("String")),
        },
    },
    "StoredCell": {
        "type": "object",
        "properties": {
            "cell": _s("integer", "position in the string"),
            "health": _s("integer", "Health code"),
            "faults": _s("integer", "CellFault bits"),
            **{q.name: quantity_schema(q.quantity) for q in CELL_QUANTITIES.values()},
        },
    },
    "StoredString": {
        "type": "object",
        "properties": {
            "string_id": _s("string", "the string"),
            "ups_id": _s("string", "its UPS"),
            "time": _s("string", "ISO 8601 time of the stored scan", format="date-time"),
            "timestamp": _s("number", "the same, UNIX seconds"),
            "stale": _s("boolean", "the string did not answer"),
            "health": _s("integer", "Health code"),
            "state": _s("integer", "ChargeState code"),
            "hall_ok": _s("boolean", "hall sensor connected"),
            "relay_closed": _s("boolean", "breaker closed"),
            "values": _s(
                "object",
                "the string's values (null when stale or absent)",
                properties={q.name: quantity_schema(q.quantity) for q in STRING_QUANTITIES.values()},
            ),
            "cells": _s("array", "every battery", items=_ref("StoredCell")),
        },
    },
    "Series": {
        "type": "object",
        "properties": {
            "level": _s("string", "cell, string or ups"),
            "id": _s("string", "what was asked for"),
            "quantity": _s("string", "the quantity; its unit is the one `quantity` lists"),
            "from": _s("string", "start", format="date-time"),
            "to": _s("string", "end", format="date-time"),
            "columns": _s("array", "time, min, avg, max", items={"type": "string"}),
            "points": _s(
                "array",
                "[time, min, avg, max] per bucket, values in the quantity's unit",
                items={"type": "array", "items": {}},
            ),
        },
    },
}


def series_quantities() -> str:
    """The `quantity` parameter's description: each level's names with their units."""
    levels = (
        ("cell", {n: q.quantity for n, q in CELL_QUANTITIES.items()}),
        ("string", {n: q.quantity for n, q in STRING_QUANTITIES.items()}),
        ("ups", {n: UPS_REGISTRY_QUANTITIES[n] for n in UPS_QUANTITIES}),
    )
    return "; ".join(f"{level}: " + ", ".join(f"{n} [{q.unit}]" for n, q in table.items()) for level, table in levels)


def _op(
    method: str, summary: str, params: list[str] = (), query: list[str] = (), returns: str | None = None
) -> dict[str, Any]:
    ok: Schema = {"description": "OK"}
    if returns:
        ok["content"] = {"application/json": {"schema": _ref(returns)}}
    query_params = [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in query]
    for p in query_params:
        if p["name"] == "quantity":
            p["description"] = series_quantities()
    return {
        method: {
            "summary": summary,
            "security": [{"bearer": []}],
            "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params]
            + query_params,
            "responses": {
                "200": ok,
                "400": {"description": "a parameter is wrong; the message says which and why"},
                "401": {"description": "missing, invalid or revoked API token"},
                "404": {"description": "unknown id"},
                "429": {
                    "description": "too many invalid tokens, or too many history queries at once, from this "
                    "address: wait Retry-After seconds"
                },
            },
        }
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "BTMS gateway API", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": SCHEMAS},
        "paths": {
            "/api/v1/site": _op("get", "The data center: gateway, UPSes and strings (no cells)", returns="Site"),
            "/api/v1/ups/{ups_id}": _op(
                "get", "One UPS: aggregates of its strings, and its strings", ["ups_id"], returns="Ups"
            ),
            "/api/v1/strings/{string_id}": _op(
                "get",
                "One string: voltage, current, state, SOC, SOH, balance, climate",
                ["string_id"],
                returns="String",
            ),
            "/api/v1/strings/{string_id}/cells": _op(
                "get",
                "Every battery of a string: voltage, resistance, temperature, SOC, SOH",
                ["string_id"],
                returns="Cells",
            ),
            "/api/v1/strings/{string_id}/relay": _op(
                "post", 'Open or close the string\'s breaker: body {"closed": true|false}', ["string_id"]
            ),
            "/api/v1/series": _op(
                "get",
                "History of one quantity, min/avg/max per bucket",
                query=["level", "id", "quantity", "from", "to", "points"],
                returns="Series",
            ),
            "/api/v1/export.csv": _op(
                "get", "Stored scans as CSV (RFC 4180, UTF-8)", query=["kind", "from", "to", "ups", "string", "cell"]
            ),
            "/api/v1/snapshot": _op(
                "get", "The site or one UPS as stored at a time (each string's last scan)", query=["at", "ups"]
            ),
            "/api/v1/strings/{string_id}/snapshot": _op(
                "get", "The stored scan of a string at a time", ["string_id"], ["at"], returns="StoredString"
            ),
            "/api/v1/discharges": _op("get", "Discharge events", query=["ups", "string"]),
            "/api/v1/discharges/{event_id}/series": _op(
                "get", "One quantity over a discharge event", ["event_id"], ["quantity", "cell", "points"]
            ),
            "/api/v1/alarms": _op(
                "get", "The alarm table, newest first", query=["ups", "string", "active", "offset", "limit"]
            ),
            "/api/v1/alarms.csv": _op("get", "The alarm table as CSV", query=["ups", "string"]),
            "/api/v1/alarms/{alarm_id}/acknowledge": _op("post", "Acknowledge an alarm", ["alarm_id"]),
            "/api/v1/notifications/test": _op(
                "post", 'Send a test e-mail or SMS: body {"channel": "email"|"sms", "contact": "..."}'
            ),
        },
    }
