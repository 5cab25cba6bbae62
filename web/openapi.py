"""The OpenAPI description of the JSON API, kept next to the routes it describes."""

from __future__ import annotations

from typing import Any


def _get(summary: str, params: list[str] = ()) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "security": [{"bearer": []}],
            "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params],
            "responses": {
                "200": {"description": "OK"},
                "401": {"description": "missing, invalid or revoked API token"},
                "404": {"description": "unknown id"},
            },
        }
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "BTMS gateway API", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/api/v1/site": _get("The data center: gateway, UPSes and strings (no cells)"),
            "/api/v1/ups/{ups_id}": _get("One UPS: aggregates of its strings, and its strings", ["ups_id"]),
            "/api/v1/strings/{string_id}": _get("One string: voltage, current, state, SOC, SOH, balance, climate", ["string_id"]),
            "/api/v1/strings/{string_id}/cells": _get("Every battery of a string: voltage, resistance, temperature, SOC, SOH", ["string_id"]),
        },
    }
