"""The merged Alarm page as a Real-time table model (aggregator/ui/models.py's shape): every
gateway's alarms and the aggregator's off-line alarms, newest first, as aggregator/alarm_list.py
reads them for the API too. Times are local with their offset, so the CSV is unambiguous.
"""

from __future__ import annotations

from typing import Any

from aggregator.alarm_list import AlarmRow
from aggregator.ui.levels import gateway_level
from aggregator.ui.models import Local
from web.live import marks
from web.live.tables import column, count_column, name_column


def _where(row: AlarmRow) -> str:
    parts = [p for p in (row.ups_id, row.string_id) if p]
    if row.cell_index is not None:
        parts.append(f"cell {row.cell_index}")
    return " / ".join(parts) or "gateway"


def _state(row: AlarmRow) -> list:
    if not row.active:
        return marks.text("Cleared")
    text = "Active, acknowledged" if row.event == "acknowledged" else "Active"
    return marks.text(text, marks.ALARM, "The alarm is not over")


def _alarm(row: AlarmRow) -> str:
    if row.kind == "gateway_offline":
        return f"Gateway off-line ({row.detail})" if row.detail else "Gateway off-line"
    return row.detail or row.kind or "alarm"


def alarm_model(rows: list[AlarmRow], local: Local, title: str) -> dict[str, Any]:
    active = sum(r.active for r in rows)
    return {
        "level": "alarm",
        "id": "",
        "title": title,
        "time": local(rows[0].from_time) if rows else "",
        "stale": False,
        "summary": {
            "title": "Alarms",
            "columns": [count_column("shown", "Shown"), count_column("active", "Active")],
            "rows": [{"key": "alarms", "cells": [[str(len(rows)), len(rows)], [str(active), active]]}],
        },
        "table": {
            "title": "Alarms, newest first",
            "columns": [
                name_column("Gateway"),
                column("raised", "Raised"),
                column("cleared", "Cleared"),
                column("state", "State"),
                column("alarm", "Alarm"),
                column("where", "Where"),
            ],
            "rows": [
                {
                    "key": f"{r.gateway}/{r.kind}/{r.alarm_id}/{r.from_time}",
                    "href": gateway_level(r.gateway).url("realtime"),
                    "cells": [
                        marks.text(r.gateway),
                        marks.text(local(r.from_time)),
                        marks.text(local(r.to_time)),
                        _state(r),
                        marks.text(_alarm(r)),
                        marks.text(_where(r)),
                    ],
                }
                for r in rows
            ],
        },
    }
