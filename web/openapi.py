"""The OpenAPI description of the JSON API, kept next to the routes it describes."""

from __future__ import annotations

from typing import Any


def _op(method: str, summary: str, params: list[str] = (), query: list[str] = ()) -> dict[str, Any]:
    return {
        method: {
            "summary": summary,
            "security": [{"bearer": []}],
            "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params]
            + [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in query],
            "responses": {
                "200": {"description": "OK"},
                "400": {"description": "a parameter is wrong; the message says which and why"},
                "401": {"description": "missing, invalid or revoked API token"},
                "404": {"description": "unknown id"},
                "429": {"description": "too many invalid tokens, or too many history queries at once, from this "
                        "address: wait Retry-After seconds"},
            },
        }
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "BTMS gateway API", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/api/v1/site": _op("get", "The data center: gateway, UPSes and strings (no cells)"),
            "/api/v1/ups/{ups_id}": _op("get", "One UPS: aggregates of its strings, and its strings", ["ups_id"]),
            "/api/v1/strings/{string_id}": _op("get", "One string: voltage, current, state, SOC, SOH, balance, climate", ["string_id"]),
            "/api/v1/strings/{string_id}/cells": _op("get", "Every battery of a string: voltage, resistance, temperature, SOC, SOH", ["string_id"]),
            "/api/v1/strings/{string_id}/relay": _op("post", 'Open or close the string\'s breaker: body {"closed": true|false}', ["string_id"]),
            "/api/v1/series": _op("get", "History of one quantity, min/avg/max per bucket", query=["level", "id", "quantity", "from", "to", "points"]),
            "/api/v1/export.csv": _op("get", "Stored scans as CSV (RFC 4180, UTF-8)", query=["kind", "from", "to", "ups", "string", "cell"]),
            "/api/v1/snapshot": _op("get", "The site or one UPS as stored at a time (each string's last scan)", query=["at", "ups"]),
            "/api/v1/strings/{string_id}/snapshot": _op("get", "The stored scan of a string at a time", ["string_id"], ["at"]),
            "/api/v1/discharges": _op("get", "Discharge events", query=["ups", "string"]),
            "/api/v1/discharges/{event_id}/series": _op("get", "One quantity over a discharge event", ["event_id"], ["quantity", "cell", "points"]),
            "/api/v1/alarms": _op("get", "The alarm table, newest first", query=["ups", "string", "active", "offset", "limit"]),
            "/api/v1/alarms.csv": _op("get", "The alarm table as CSV", query=["ups", "string"]),
            "/api/v1/alarms/{alarm_id}/acknowledge": _op("post", "Acknowledge an alarm", ["alarm_id"]),
            "/api/v1/notifications/test": _op("post", 'Send a test e-mail or SMS: body {"channel": "email"|"sms", "contact": "..."}'),
        },
    }
