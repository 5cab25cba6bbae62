"""The Real-time tab's data at each level, as one table model the page, the stream and the CSV share.

data center: its UPSes; UPS: its strings; string: the string's own values and its cells. Each
is built from the site view's JSON (the API's rule for stale and implausible values) into
columns (label, unit from battery/quantities.py, alarm limits for the bar graph) and rows of
shown values (web/live/marks.py). The page renders the first model on the server; the stream
sends the next ones; realtime.js draws, sorts, pages, plots and downloads whatever model it has,
so the three never disagree about what a value looks like.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from battery.alarms.limits import cell_limits_for_string, string_limits_for
from battery.quantities import Quantity, quantity
from battery.site import StringConfig, Topology
from web.live import marks
from web.site_view import SiteView

Row = dict[str, Any]
PAGE_SIZES = (10, 25, 50, 100, 0)  # the table's "show N entries" choices; 0 = all
DEFAULT_PAGE_SIZE = 25

CELL = {k: quantity(f"cell.{k}") for k in ("voltage", "resistance", "temperature", "soc", "soh")}
STRING = {
    k: quantity(f"string.{k}")
    for k in ("voltage", "current", "soc", "soh", "balance", "ambient_temperature", "ambient_humidity")
}
UPS = {k: quantity(f"ups.{k}") for k in ("voltage", "current", "soc")}

HEALTH_TEXT = {"ok": "OK", "error": "Error", "stale": "No present data", "unknown": "No data yet", "disabled": "Off"}
FAULT_TEXT = {
    "no_response": "no answer",
    "open_circuit": "open circuit",
    "voltage_implausible": "voltage sensor fault",
    "resistance_implausible": "resistance sensor fault",
    "temperature_implausible": "temperature sensor fault",
}


def column(key: str, label: str, q: Quantity | None = None, plot: bool = True, limits: list | None = None) -> dict:
    if q is None:
        return {"key": key, "label": label, "unit": "", "numeric": False, "plot": False}
    return {
        "key": key,
        "label": label,
        "unit": q.unit,
        "unit_ascii": q.unit_ascii,  # CSV headers (storage/csv_text.py's reasoning)
        "numeric": True,
        "plot": plot,
        "limits": limits or [],
    }


def count_column(key: str, label: str) -> dict:
    """A count (no unit, sorted as a number, not plotted)."""
    return {"key": key, "label": label, "unit": "", "numeric": True, "plot": False, "limits": []}


def name_column(label: str) -> dict:
    return {"key": "name", "label": label, "unit": "", "numeric": False, "plot": False}


def _limit_lines(*pairs: tuple[str, float | None]) -> list[dict]:
    return [{"label": label, "value": value} for label, value in pairs if value is not None]


def _health(body: dict) -> list:
    health = body.get("health", "unknown")
    shown = HEALTH_TEXT.get(health, health)
    if health in ("stale", "unknown"):
        return marks.text(shown, marks.STALE, "No scan of this device is recent enough to be current")
    return marks.text(
        shown, marks.ALARM if health == "error" else "", "A device reports an error" if health == "error" else ""
    )


def _stale_reason(body: dict, local: Callable[[str | None], str]) -> str:
    when = local(body.get("timestamp"))
    return f"No present data (last scan {when})" if when else "No data received yet"


# -- a string and its cells --------------------------------------------------------------------


def _cell_limits(config: StringConfig) -> dict[str, tuple[marks.Check, ...]]:
    """The string's cell limits, in the units the cells are shown in."""
    c = cell_limits_for_string(config)
    v, r, t, soc, soh = (CELL[k] for k in ("voltage", "resistance", "temperature", "soc", "soh"))
    return {
        "voltage": (
            marks.check(c.voltage_high, c.voltage_high.threshold / 1000, v),
            marks.check(c.voltage_low, c.voltage_low.threshold / 1000, v),
        ),
        "resistance": (marks.check(c.resistance_high, c.resistance_high.threshold / 1000, r),),
        "temperature": (marks.check(c.temperature_high, c.temperature_high.threshold / 10, t),),
        "soc": (marks.check(c.soc_low, c.soc_low.threshold, soc),),
        "soh": (marks.check(c.soh_low, c.soh_low.threshold, soh),),
    }


def _lines(checks: tuple[marks.Check, ...]) -> list[dict]:
    return _limit_lines(*((f"{'High' if c.high else 'Low'} limit", c.threshold) for c in checks))


CELL_LABELS = {
    "voltage": "Voltage",
    "resistance": "Resistance",
    "temperature": "Temperature",
    "soc": "SOC",
    "soh": "SOH",
}
CELL_FIELDS = (
    ("voltage", "voltage_v", "voltage_implausible"),
    ("resistance", "resistance_mohm", "resistance_implausible"),
    ("temperature", "temperature_c", "temperature_implausible"),
    ("soc", "soc_pct", ""),
    ("soh", "soh_pct", ""),
)


def _cell_row(cell: dict, limits: dict, stale_reason: str) -> Row:
    faults = cell["faults"]
    if cell["stale"]:
        reason = "The cell sensor did not answer the last scan" if "no_response" in faults else stale_reason
        status = marks.text(HEALTH_TEXT.get(cell["health"], cell["health"]), marks.STALE, reason)
        return {"key": str(cell["index"]), "cells": [marks.text(f"#{cell['index']:03d}"), status]
                + [marks.stale(reason) for _ in CELL_FIELDS]}  # fmt: skip
    if faults:
        status = marks.text(
            ", ".join(FAULT_TEXT.get(f, f) for f in faults), marks.FAULT, "The cell sensor reports a fault"
        )
    else:
        status = marks.text("OK")
    values = []
    for key, json_key, fault in CELL_FIELDS:
        value = cell[json_key]
        if value is None and fault and fault in faults:
            values.append(marks.sensor_fault(CELL[key]))
        elif value is None and key == "resistance" and "open_circuit" in faults:
            values.append(marks.not_measured("Open circuit: no current flows, so no resistance was measured"))
        else:
            values.append(marks.good(value, CELL[key], limits[key]))
    return {"key": str(cell["index"]), "cells": [marks.text(f"#{cell['index']:03d}"), status, *values]}


def string_model(view: SiteView, string_id: str, local: Callable[[str | None], str]) -> dict[str, Any]:
    config = view.topology.string(string_id)
    body = view.string_json(string_id)
    cells = view.cells_json(string_id)
    cell_limits = _cell_limits(config)
    reason = _stale_reason(body, local)
    columns = [name_column("Cell"), column("status", "Status")] + [
        column(key, CELL_LABELS[key], CELL[key], limits=_lines(cell_limits[key])) for key, _, _ in CELL_FIELDS
    ]
    return {
        "level": "string",
        "id": string_id,
        "title": config.name or f"String {config.id}",
        "time": local(body.get("timestamp")),
        "stale": body["stale"],
        "summary": {"title": "String", "columns": _string_columns(), "rows": [_string_row(view, config, body, reason)]},
        "table": {
            "title": "Cells",
            "columns": columns,
            "rows": [_cell_row(c, cell_limits, reason) for c in cells["cells"]],
        },
    }


# -- a UPS and its strings ---------------------------------------------------------------------


def _string_columns(name: str = "String") -> list[dict]:
    s = STRING
    return [
        name_column(name),
        column("status", "Status"),
        column("state", "State"),
        column("voltage", "Voltage", s["voltage"]),
        column("current", "Current", s["current"]),
        column("soc", "SOC", s["soc"]),
        column("soh", "SOH", s["soh"]),
        column("balance", "Balance", s["balance"]),
        column("ambient_temperature", "Ambient", s["ambient_temperature"]),
        column("ambient_humidity", "Humidity", s["ambient_humidity"]),
        count_column("cells_in_error", "Faulty cells"),
    ]


def _string_limits(config: StringConfig) -> dict[str, tuple[marks.Check, ...]]:
    s = string_limits_for(config)
    v, i, soc = STRING["voltage"], STRING["current"], STRING["soc"]
    return {
        "voltage": (marks.check(s.voltage_high, s.voltage_high.threshold, v),
                    marks.check(s.voltage_low, s.voltage_low.threshold, v)),
        "current": (marks.check(s.current_high, s.current_high.threshold, i),
                    marks.check(s.current_low, s.current_low.threshold, i)),
        "soc": (marks.check(s.soc_low, s.soc_low.threshold, soc),),
    }  # fmt: skip


def _string_row(view: SiteView, config: StringConfig, body: dict, reason: str, link: bool = False) -> Row:
    name = marks.text(config.name or config.id)
    row: Row = {"key": config.id, "href": f"/strings/{config.id}/realtime" if link else None}
    if body["stale"]:
        row["cells"] = [name, _health(body)] + [marks.stale(reason) for _ in range(9)]
        return row
    limits = _string_limits(config)
    values = []
    for key, json_key in (
        ("voltage", "voltage_v"),
        ("current", "current_a"),
        ("soc", "soc_pct"),
        ("soh", "soh_pct"),
        ("balance", "balance_pct"),
        ("ambient_temperature", "ambient_temperature_c"),
        ("ambient_humidity", "ambient_humidity_pct"),
    ):
        value = body[json_key]
        if value is None and key == "current":
            values.append(marks.not_measured("The hall sensor is not connected: the current is unknown, not 0 A"))
        elif value is None and key.startswith("ambient"):
            values.append(marks.text("none", "", "") if not config.climate_sensor else marks.stale("No reading"))
        else:
            values.append(marks.good(value, STRING[key], limits.get(key, ())))
    errors = body["cells_in_error"]
    in_error = marks.text(str(errors), marks.ALARM, "Cells with a fault") if errors else marks.text("0")
    in_error[1] = errors
    state = marks.text(body["state"].capitalize())
    row["cells"] = [name, _health(body), state, *values, in_error]
    return row


def ups_model(view: SiteView, ups_id: str, local: Callable[[str | None], str]) -> dict[str, Any]:
    config = view.topology.ups(ups_id)
    body = view.ups_json(ups_id, with_strings=False)
    rows = []
    common: dict[str, list] = {}
    for s in config.strings:
        string_body = view.string_json(s.id)
        rows.append(_string_row(view, s, string_body, _stale_reason(string_body, local), link=True))
        for key, limits in _string_limits(s).items():
            lines = _lines(limits)
            common[key] = lines if common.get(key, lines) == lines else []
    columns = _string_columns()
    for c in columns:
        if c["key"] in common:
            c["limits"] = common[c["key"]]  # a limit line only where every string has the same limit
    return {
        "level": "ups",
        "id": ups_id,
        "title": config.name or config.id,
        "time": local(body.get("timestamp")),
        "stale": body["stale"],
        "summary": {"title": "UPS", "columns": _ups_columns("UPS"), "rows": [_ups_row(config, body, local)]},
        "table": {"title": "Strings", "columns": columns, "rows": rows},
    }


# -- the data center and its UPSes --------------------------------------------------------------


def _ups_columns(name: str) -> list[dict]:
    return [
        name_column(name),
        column("status", "Status"),
        column("voltage", "Voltage", UPS["voltage"]),
        column("current", "Current", UPS["current"]),
        column("soc", "SOC", UPS["soc"]),
        column("strings", "Strings"),
    ]


def _ups_row(config, body: dict, local: Callable[[str | None], str], link: bool = False) -> Row:
    row: Row = {"key": config.id, "href": f"/ups/{config.id}/realtime" if link else None}
    name, count = marks.text(config.name or config.id), marks.text(str(len(config.strings)))
    if body["stale"]:
        reason = _stale_reason(body, local)
        row["cells"] = [name, _health(body), *(marks.stale(reason) for _ in UPS), count]
    else:
        values = [marks.good(body[f"{k}_{u}"], UPS[k]) for k, u in (("voltage", "v"), ("current", "a"), ("soc", "pct"))]
        row["cells"] = [name, _health(body), *values, count]
    return row


def site_model(view: SiteView, topology: Topology, local: Callable[[str | None], str]) -> dict[str, Any]:
    upses = [(u, view.ups_json(u.id, with_strings=False)) for u in topology.upses]
    strings = [view.string_json(s.id) for s in topology.strings]
    fresh = [s for s in strings if not s["stale"]]
    in_error = sum(s["cells_in_error"] for s in fresh)
    summary_row = {
        "key": "site",
        "cells": [
            marks.text(topology.gateway.name or topology.gateway.id),
            marks.text(
                f"{len(fresh)} of {len(strings)}",
                "" if len(fresh) == len(strings) else marks.STALE,
                "Some strings have no present data",
            ),  # fmt: skip
            marks.text(str(sum(s.battery.count for s in topology.strings))),
            marks.text(str(in_error), marks.ALARM if in_error else "", "Cells with a fault" if in_error else ""),
        ],
    }
    return {
        "level": "site",
        "id": "",
        "title": topology.gateway.name or "Data center",
        "time": local(max((b["timestamp"] for _, b in upses if b.get("timestamp")), default=None)),
        "stale": len(fresh) < len(strings),
        "summary": {
            "title": "Data center",
            "columns": [
                name_column("Data center"),
                column("reporting", "Strings with present data"),
                column("cells", "Batteries"),
                column("in_error", "Batteries in error"),
            ],  # fmt: skip
            "rows": [summary_row],
        },
        "table": {
            "title": "UPSes",
            "columns": _ups_columns("UPS"),
            "rows": [_ups_row(u, b, local, link=True) for u, b in upses],
        },
    }
