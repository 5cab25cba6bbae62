"""The kiosk's overview: every string's state, SOC and active alarms, for a display on the wall.

Read from two metres, so it carries only what a person walking by must see: is each string
charged, is it discharging, is anything wrong. Values follow the one marking rule
(web/live/marks.py): a string without present data shows no SOC, marked stale.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from battery.quantities import quantity
from storage.alarm_filter import AlarmFilter
from web.live import marks
from web.live_alarms import AnnouncedAlarms
from web.site_view import SiteView

SOC = quantity("string.soc")
MAX_ALARMS_SHOWN = 3  # per string; the rest is counted


def kiosk_model(view: SiteView, alarms: AnnouncedAlarms | None, local: Callable[[str | None], str]) -> dict[str, Any]:
    topology = view.topology
    strings = []
    for ups in topology.upses:
        for config in ups.strings:
            body = view.string_json(config.id)
            active = (
                [r for r in alarms.matching(AlarmFilter(string_id=config.id)) if r.active] if alarms is not None else []
            )
            titles = [_alarm_text(r) for r in active[:MAX_ALARMS_SHOWN]]
            if len(active) > MAX_ALARMS_SHOWN:
                titles.append(f"and {len(active) - MAX_ALARMS_SHOWN} more")
            if body["stale"]:
                when = local(body.get("timestamp"))
                reason = f"No present data (last scan {when})" if when else "No data received yet"
                state, soc = marks.text("no data", marks.STALE, reason), marks.stale(reason)
            else:
                state = marks.text(body["state"], marks.ALARM if body["state"] == "discharge" else "")
                soc = marks.good(body["soc_pct"], SOC)
            strings.append(
                {
                    "id": config.id,
                    "name": config.name or config.id,
                    "ups": ups.name or ups.id,
                    "state": state,
                    "soc": soc,
                    "alarms": titles,
                    "alarm_count": len(active),
                }
            )
    return {
        "title": topology.gateway.name or "Data center",
        "alarm_count": sum(s["alarm_count"] for s in strings),
        "strings": strings,
    }


def _alarm_text(record) -> str:
    return f"{record.title}, battery #{record.cell_index}" if record.cell_index else record.title
