"""The aggregator's pages as the Real-time tab's table models (web/live/tables.py's shape), so the
gateway's realtime.html and realtime.js draw, sort, page, plot and download them unchanged.

Built from the JSON the API serves (aggregator/site_view.py), with the gateway's rule for a
value that is not a good present measurement (web/live/marks.py): an off-line gateway's or a
stale string's values show as stale ("–"), never as the last number; a value a gateway sent as
null (its sensor did not answer or read something implausible) is marked "not measured".
Columns take label and unit from the registry (battery/quantities.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aggregator.site_view import AggregatedSite
from aggregator.ui.levels import gateway_level, string_level
from battery.quantities import quantity
from web.json_quantities import STRING_JSON, UPS_JSON
from web.live import marks
from web.live.tables import (
    CELL,
    CELL_FIELDS,
    CELL_LABELS,
    HEALTH_TEXT,
    STRING,
    column,
    count_column,
    name_column,
)

Local = Callable[[float | None], str]  # UNIX seconds -> the site's local time, with its offset


def _with_json_keys(level: str, table: dict, columns: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str, str], ...]:
    """(key, label) -> (key, the API's JSON name for it, label): the JSON names are the API's
    own (web/json_quantities.py), not written again here."""
    json_key = {q.key: prop for prop, q in table.items()}
    return tuple((key, json_key[f"{level}.{key}"], label) for key, label in columns)


UPS_COLUMNS = _with_json_keys(
    "ups", UPS_JSON, (("voltage", "Voltage"), ("current", "Current"), ("soc", "SOC"), ("runtime", "Runtime"))
)
STRING_COLUMNS = _with_json_keys(
    "string",
    STRING_JSON,
    (
        ("voltage", "Voltage"),
        ("current", "Current"),
        ("soc", "SOC"),
        ("soh", "SOH"),
        ("balance", "Balance"),
        ("ambient_temperature", "Ambient"),
        ("ambient_humidity", "Humidity"),
    ),
)
CELL_COLUMNS = tuple((key, json_key, CELL_LABELS[key]) for key, json_key, _ in CELL_FIELDS)
NULL_REASON = "The gateway sent no value: its sensor did not answer or read something implausible"


def seconds(iso_text: str | None) -> float | None:
    return None if not iso_text else datetime.fromisoformat(iso_text).timestamp()


def _value(body: dict, json_key: str, q, stale_reason: str) -> list:
    if stale_reason:
        return marks.stale(stale_reason)
    if json_key not in body:
        return marks.text("none")  # the gateway does not send this quantity (no such sensor)
    value = body[json_key]
    if value is None:
        return marks.not_measured(NULL_REASON)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return marks.text(str(value))
    return marks.good(float(value), q)


def _health(health: str, stale_reason: str) -> list:
    shown = HEALTH_TEXT.get(health, health)
    if stale_reason or health in ("stale", "unknown"):
        return marks.text(shown, marks.STALE, stale_reason or "No scan of this device is recent enough to be current")
    if health == "error":
        return marks.text(shown, marks.ALARM, "A device reports an error")
    return marks.text(shown)


def _offline_reason(site: AggregatedSite, edge_node: str, local: Local) -> str:
    g = site.gateways[edge_node]
    if g.online:
        return ""
    why = f": {g.offline_reason}" if g.offline_reason else ""
    return f"Gateway off-line since {local(site.since.get(edge_node))}{why}; its last values are not current"


def _string_stale(string: dict, offline: str, local: Local) -> str:
    if offline:
        return offline
    if string.get("health") in ("stale", "unknown"):
        when = local(seconds(string.get("timestamp")))
        return f"No present data (last scan {when})" if when else "No data received yet"
    return ""


# -- the site: every gateway -------------------------------------------------------------------


def _newest_record(site: AggregatedSite, edge_node: str) -> float | None:
    times = site.gateways[edge_node].device_times_ms.values()
    return max(times) / 1000 if times else None


def _alarm_count(site: AggregatedSite, edge_node: str, active: dict[str, int] | None) -> list:
    """The Alarm page's count (PostgreSQL); without it, the alarms heard since this aggregator started."""
    if active is None:
        count = site.active_alarms(edge_node)
        why = "PostgreSQL is unreachable: counted from the alarms heard since the aggregator started"
    else:
        count, why = active.get(edge_node, 0), "Active alarms" if active.get(edge_node) else ""
    shown = marks.text(str(count), marks.ALARM if count else "", why)
    shown[1] = count
    return shown


def site_model(site: AggregatedSite, local: Local, active: dict[str, int] | None = None) -> dict[str, Any]:
    """active: each gateway's active alarms as the Alarm page lists them; None when unknown."""
    rows, online, alarms, newest = [], 0, 0, None
    for edge_node in sorted(site.gateways):
        g = site.gateways[edge_node]
        body = site.gateway_json(edge_node)
        strings = sum(len(u["strings"]) for u in body["upses"])
        alarm_cell = _alarm_count(site, edge_node, active)
        last = _newest_record(site, edge_node)
        online += g.online
        alarms += alarm_cell[1]
        newest = last if newest is None or (last is not None and last > newest) else newest
        status = (
            marks.text("On-line")
            if g.online
            else marks.text("Off-line", marks.STALE, _offline_reason(site, edge_node, local))
        )
        rows.append(
            {
                "key": edge_node,
                "href": gateway_level(edge_node).url("realtime"),
                "cells": [
                    marks.text(edge_node),
                    status,
                    marks.text(local(site.since.get(edge_node))),
                    marks.text(local(last) or "none yet"),
                    [str(len(body["upses"])), len(body["upses"])],
                    [str(strings), strings],
                    alarm_cell,
                ],
            }
        )
    total = len(site.gateways)
    return {
        "level": "site",
        "id": "",
        "title": "All gateways",
        "time": local(newest),
        "stale": False,
        "summary": {
            "title": "Site",
            "columns": [
                count_column("gateways", "Gateways"),
                count_column("online", "On-line"),
                count_column("offline", "Off-line"),
                count_column("alarms", "Active alarms"),
            ],
            "rows": [
                {
                    "key": "site",
                    "cells": [[str(total), total], [str(online), online]]
                    + [[str(total - online), total - online], [str(alarms), alarms]],
                }
            ],
        },
        "table": {
            "title": "Gateways",
            "columns": [
                name_column("Gateway"),
                column("status", "Status"),
                column("since", "Since"),
                column("last_record", "Last record"),
                count_column("upses", "UPSs"),
                count_column("strings", "Strings"),
                count_column("alarms", "Active alarms"),
            ],
            "rows": rows,
        },
    }


# -- a gateway: its UPSs and strings -----------------------------------------------------------


def _ups_table(body: dict, offline: str) -> dict:
    rows = []
    for ups in body["upses"]:
        values = [_value(ups, json_key, quantity(f"ups.{key}"), offline) for key, json_key, _ in UPS_COLUMNS]
        rows.append({"key": ups["id"], "cells": [marks.text(ups["id"]), _health(ups["health"], offline), *values]})
    columns = [name_column("UPS"), column("status", "Status")] + [
        column(key, label, quantity(f"ups.{key}")) for key, _, label in UPS_COLUMNS
    ]
    return {"title": "UPSs", "columns": columns, "rows": rows}


def _string_columns(first: str) -> list[dict]:
    return [name_column(first), column("status", "Status"), column("state", "State")] + [
        column(key, label, STRING[key]) for key, _, label in STRING_COLUMNS
    ]


def _string_cells(string: dict, stale: str) -> list[list]:
    state = string.get("state")
    return [
        _health(string["health"], stale),
        marks.stale(stale) if stale else marks.text((state or "unknown").capitalize()),
        *(_value(string, json_key, STRING[key], stale) for key, json_key, _ in STRING_COLUMNS),
    ]


def gateway_model(site: AggregatedSite, edge_node: str, local: Local) -> dict[str, Any]:
    body = site.gateway_json(edge_node)
    offline = _offline_reason(site, edge_node, local)
    rows = []
    for ups in body["upses"]:
        for string in ups["strings"]:
            stale = _string_stale(string, offline, local)
            rows.append(
                {
                    "key": f"{ups['id']}/{string['id']}",
                    "href": string_level(edge_node, ups["id"], string["id"]).url("realtime"),
                    "cells": [marks.text(f"{ups['id']} / {string['id']}"), *_string_cells(string, stale)],
                }
            )
    return {
        "level": "gateway",
        "id": edge_node,
        "title": f"Gateway {edge_node}" + ("" if body["online"] else " (off-line)"),
        "time": local(_newest_record(site, edge_node)),
        "stale": not body["online"],
        "summary": _ups_table(body, offline),
        "table": {"title": "Strings", "columns": _string_columns("String"), "rows": rows},
    }


# -- a string: its cells -----------------------------------------------------------------------


def _cell_row(cell: dict, stale: str) -> dict:
    health = cell.get("health") or "unknown"
    cell_stale = stale or ("No present data for this cell" if health in ("stale", "unknown") else "")
    if cell_stale:
        status = marks.text(HEALTH_TEXT.get(health, health), marks.STALE, cell_stale)
    elif health == "error":
        status = marks.text("Error", marks.FAULT, "The gateway reports a fault of this cell")
    else:
        status = marks.text(HEALTH_TEXT.get(health, health))
    values = [_value(cell, json_key, CELL[key], cell_stale) for key, json_key, _ in CELL_COLUMNS]
    return {"key": str(cell["index"]), "cells": [marks.text(f"#{cell['index']:03d}"), status, *values]}


def string_model(site: AggregatedSite, edge_node: str, ups_id: str, string_id: str, local: Local) -> dict | None:
    cells = site.cells_json(edge_node, ups_id, string_id)
    body = site.gateway_json(edge_node)
    string = next((s for u in body["upses"] if u["id"] == ups_id for s in u["strings"] if s["id"] == string_id), None)
    if cells is None or string is None:
        return None
    stale = _string_stale(string, _offline_reason(site, edge_node, local), local)
    columns = [name_column("Cell"), column("status", "Status")] + [
        column(key, label, CELL[key]) for key, _, label in CELL_COLUMNS
    ]
    return {
        "level": "string",
        "id": f"{ups_id}/{string_id}",
        "title": f"String {ups_id} / {string_id} on {edge_node}",
        "time": local(seconds(string.get("timestamp"))),
        "stale": bool(stale),
        "summary": {
            "title": "String",
            "columns": _string_columns("String"),
            "rows": [
                {"key": string_id, "cells": [marks.text(f"{ups_id} / {string_id}"), *_string_cells(string, stale)]}
            ],
        },
        "table": {"title": "Cells", "columns": columns, "rows": [_cell_row(c, stale) for c in cells["cells"]]},
    }
