"""Every gateway's alarms merged with the aggregator's off-line alarms, newest first: ONE list for
the JSON API (/api/v1/alarms) and the Alarm page, so the two never disagree.

A gateway alarm is its latest event as stored (aggregator/store.py); raises the store's
connection errors for the caller to answer 503.
"""

from __future__ import annotations

from dataclasses import dataclass

from aggregator.alarm_rules import active_alarm_counts, gateway_alarm_active
from aggregator.store import RecordStore


@dataclass(frozen=True)
class AlarmRow:
    gateway: str
    kind: str | None
    active: bool
    event: str  # raised, acknowledged, cleared, closed; "offline" for the aggregator's own
    from_time: float | None  # UNIX seconds
    to_time: float | None
    detail: str | None
    alarm_id: int | None = None
    ups_id: str | None = None
    string_id: str | None = None
    cell_index: int | None = None


def _seconds(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return value.timestamp()  # a datetime from PostgreSQL


async def merged_alarms(reader: RecordStore | None, active_only: bool = False) -> list[AlarmRow]:
    rows: list[AlarmRow] = []
    if reader is None:
        return rows
    offline = await reader.offline_alarms(active_only=active_only)
    gateway_alarms = await reader.gateway_alarms()
    for r in offline:
        rows.append(
            AlarmRow(
                gateway=r["edge_node"],
                kind="gateway_offline",
                active=r["cleared_at"] is None,
                event="offline" if r["cleared_at"] is None else "cleared",
                from_time=_seconds(r["raised_at"]),
                to_time=_seconds(r["cleared_at"]),
                detail=r["reason"],
            )
        )
    for a in gateway_alarms:
        active = gateway_alarm_active(a)
        if active_only and not active:
            continue
        rows.append(
            AlarmRow(
                gateway=a["edge_node"],
                kind=a.get("kind"),
                active=active,
                event=str(a.get("event") or ""),
                from_time=_seconds(a.get("from_time")),
                to_time=_seconds(a.get("to_time")),
                detail=a.get("title"),
                alarm_id=a.get("alarm_id"),
                ups_id=a.get("ups_id"),
                string_id=a.get("string_id"),
                cell_index=a.get("cell_index"),
            )
        )
    rows.sort(key=lambda r: r.from_time or 0.0, reverse=True)
    return rows


async def active_alarms_by_gateway(reader: RecordStore) -> dict[str, int]:
    """Edge node -> its active alarms, counted as the Alarm page and `?active=1` list them."""
    return active_alarm_counts(await reader.gateway_alarms(), await reader.offline_alarms(active_only=True))
