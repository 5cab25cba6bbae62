"""The battery analytics (battery/analytics) in the JSON API: the values and their OpenAPI schema,
side by side so the two cannot drift. The quantities among them (runtime, insulation resistance)
are in web/json_quantities.py like every other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from battery.analytics import WeakestCells
from battery.status import StringStatus, UpsStatus

SOH_METHODS = "none (no baseline yet), resistance (against the commissioning baseline), capacity (a deep discharge)"


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def weakest_json(w: WeakestCells | None) -> dict[str, list[dict[str, Any]]] | None:
    """Each ranking worst first; a UPS's cells are named by string and cell."""
    if w is None:
        return None

    def cells(ranking, amount: str, scale: float, digits: int) -> list[dict[str, Any]]:
        out = []
        for key, value in ranking:
            where = {"string_id": key[0], "cell": key[1]} if isinstance(key, tuple) else {"cell": key}
            out.append({**where, amount: round(value * scale, digits)})
        return out

    return {
        "by_resistance_rise": cells(w.by_resistance_rise, "rise_pct", 100.0, 1),
        "by_voltage_sag": cells(w.by_voltage_sag, "sag_mv", 1.0, 0),
        "by_temperature": cells(w.by_temperature, "above_median_c", 1.0, 1),
    }


def string_analytics(s: StringStatus) -> dict[str, Any]:
    return {
        "soh_method": s.soh_method,
        "soh_time": _iso(s.soh_at),
        "discharging_since": _iso(s.discharge_started_at),
        "thermal_runaway": s.runaway,
        "runaway_cells": list(s.runaway_cells),
        "insulation_low": s.insulation_low,
        "weakest_cells": weakest_json(s.weakest),
    }


def ups_analytics(u: UpsStatus) -> dict[str, Any]:
    return {"on_battery_since": _iso(u.on_battery_since), "weakest_cells": weakest_json(u.weakest)}


def cell_analytics(s: StringStatus, i: int) -> dict[str, Any]:
    """Cell i (from 0): its SOH method and time, and whether its sensor balances it (null: not said)."""
    method = s.cell_soh_method[i] if i < len(s.cell_soh_method) else "none"
    at = s.cell_soh_at[i] if i < len(s.cell_soh_at) else None
    balancing = s.cell_balancing[i] if i < len(s.cell_balancing) else None
    return {"soh_method": method, "soh_time": _iso(at), "balancing": balancing}


# -- OpenAPI ---------------------------------------------------------------------------------


def _s(kind: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **extra}


def _ranking(amount: str, description: str, with_string: bool) -> dict[str, Any]:
    item = {"cell": _s("integer", "cell index, 1 first"), amount: _s("number", description)}
    if with_string:
        item = {"string_id": _s("string", "the cell's string"), **item}
    return _s("array", f"worst first: {description}", items={"type": "object", "properties": item})


def _weakest_schema(with_string: bool) -> dict[str, Any]:
    return _s(
        "object",
        "the weakest cells by three criteria (docs/battery-math.md), null when not known",
        nullable=True,
        properties={
            "by_resistance_rise": _ranking("rise_pct", "resistance rise over its baseline, %", with_string),
            "by_voltage_sag": _ranking("sag_mv", "mV below the string's median voltage under discharge", with_string),
            "by_temperature": _ranking("above_median_c", "°C above the string's median temperature", with_string),
        },
    )


_TIME = {"format": "date-time", "nullable": True}
STRING_ANALYTICS_SCHEMA: dict[str, Any] = {
    "soh_method": _s("string", f"what soh_pct comes from: {SOH_METHODS}", nullable=True),
    "soh_time": _s("string", "ISO 8601 time soh_pct was determined", **_TIME),
    "discharging_since": _s("string", "start of the discharge event under way, null when none", **_TIME),
    "thermal_runaway": _s("boolean", "thermal-runaway early warning", nullable=True),
    "runaway_cells": _s("array", "the cells the warning names", items={"type": "integer"}, nullable=True),
    "insulation_low": _s("boolean", "insulation resistance below its limit (BM-GS)", nullable=True),
    "weakest_cells": _weakest_schema(with_string=False),
}
UPS_ANALYTICS_SCHEMA: dict[str, Any] = {
    "on_battery_since": _s("string", "start of its strings' discharge, null when not on battery", **_TIME),
    "weakest_cells": _weakest_schema(with_string=True),
}
CELL_ANALYTICS_SCHEMA: dict[str, Any] = {
    "soh_method": _s("string", f"what soh_pct comes from: {SOH_METHODS}", nullable=True),
    "soh_time": _s("string", "ISO 8601 time soh_pct was determined", **_TIME),
    "balancing": _s(
        "boolean", "the cell sensor is balancing the battery; null when the device does not say", nullable=True
    ),
}

# The names above, null in a stale or unknown object.
STRING_ANALYTICS = tuple(STRING_ANALYTICS_SCHEMA)
UPS_ANALYTICS = tuple(UPS_ANALYTICS_SCHEMA)
CELL_ANALYTICS = tuple(CELL_ANALYTICS_SCHEMA)
