"""The discharge events the gateways sent, as stored in PostgreSQL, paired into start-to-end events.

A gateway sends `event/discharge` (JSON text: event "start" or "end", ups_id, string_id, time)
as a record of its own (device ''), when a string begins and ends discharging (its recorder,
protocols/uplink/recorder.py); in between it sends the string's values at every scan. So an
event is a start and the string's next end; its depth (the lowest string voltage and state of
charge it reached) is read from those stored scans (aggregator/series.py, one bucket).

Pairing, per string in time order: a start opens an event, an end closes the open one. A start
while one is open is the same discharge announced again (a restarted gateway) and is passed
over; an end with none open began before the stored records: its start is unknown (None); an
event with no end yet is ongoing (end None).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace

import asyncpg

from aggregator.series import device_series
from battery.quantities import quantity
from protocols.uplink.naming import DISCHARGE_METRIC, string_device_id

MAX_EVENTS = 200  # the newest, per list: each costs two bounded queries for its depth
_MAX_MESSAGES = 4 * MAX_EVENTS  # starts and ends read, newest first (repeated starts included)
_VOLTAGE, _SOC = quantity("string.voltage"), quantity("string.soc")

_MESSAGES = """
SELECT r.edge_node, r.ts, r.texts, l.text_names FROM record r JOIN metric_layout l ON l.id = r.layout
WHERE r.edge_node = ANY($1) AND r.device = '' AND $2 = ANY(l.text_names)
ORDER BY r.ts DESC LIMIT $3
"""


@dataclass(frozen=True)
class Message:
    gateway: str
    ups_id: str
    string_id: str
    event: str  # start or end
    time: float  # UNIX s


@dataclass(frozen=True)
class DischargeEvent:
    gateway: str
    ups_id: str
    string_id: str
    start: float | None  # None: began before the stored records
    end: float | None  # None: still discharging
    min_voltage: float | None = None  # V, the lowest string voltage stored within it
    min_soc: float | None = None  # %

    @property
    def duration_s(self) -> float | None:
        return None if self.start is None or self.end is None else self.end - self.start


def messages_of(gateway: str, ts: float, names: Iterable[str], texts: Iterable[str | None]) -> list[Message]:
    """The discharge messages of one stored record (a record may carry several of one scan)."""
    out = []
    for name, text in zip(names, texts, strict=False):
        if name != DISCHARGE_METRIC or text is None:
            continue
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            continue
        if not isinstance(body, dict) or body.get("event") not in ("start", "end"):
            continue
        ups_id, string_id, when = body.get("ups_id"), body.get("string_id"), body.get("time")
        if not isinstance(ups_id, str) or not isinstance(string_id, str):
            continue
        good_time = isinstance(when, int | float) and not isinstance(when, bool) and 0 < when < 253402300800
        out.append(Message(gateway, ups_id, string_id, body["event"], float(when) if good_time else ts))
    return out


def paired(messages: Iterable[Message]) -> list[DischargeEvent]:
    """Start-to-end events of the messages (any order), newest start first (then by name, last first)."""
    by_string: dict[tuple[str, str, str], list[Message]] = {}
    for m in messages:
        by_string.setdefault((m.gateway, m.ups_id, m.string_id), []).append(m)
    events = []
    for (gateway, ups_id, string_id), found in by_string.items():
        started: float | None = None  # the open event's start; None: none open
        for m in sorted(found, key=lambda m: (m.time, m.event != "end")):
            if m.event == "start" and started is None:
                started = m.time
            elif m.event == "end":
                events.append(DischargeEvent(gateway, ups_id, string_id, started, m.time))
                started = None
        if started is not None:
            events.append(DischargeEvent(gateway, ups_id, string_id, started, None))

    def newest(e: DischargeEvent) -> tuple:
        return (e.start if e.start is not None else e.end or 0.0, e.gateway, e.ups_id, e.string_id)

    return sorted(events, key=newest, reverse=True)


async def discharge_events(
    db: asyncpg.Pool | asyncpg.Connection,
    gateways: list[str],
    now: float,
    ups_id: str = "",
    string_id: str = "",
    limit: int = MAX_EVENTS,
) -> list[DischargeEvent]:
    """The newest `limit` events of the gateways (of one UPS or string if given), each with its
    depth (an ongoing one: until `now`). The UPS and string are chosen before the limit, so that a
    string's list is not emptied by newer events of other strings."""
    rows = await db.fetch(_MESSAGES, gateways, DISCHARGE_METRIC, _MAX_MESSAGES)
    messages = [
        m
        for r in rows
        for m in messages_of(r["edge_node"], r["ts"].timestamp(), r["text_names"], r["texts"])
        if (not ups_id or m.ups_id == ups_id) and (not string_id or m.string_id == string_id)
    ]
    events = paired(messages)[:limit]
    return [await _with_depth(db, e, now) for e in events]


async def _with_depth(db, event: DischargeEvent, now: float) -> DischargeEvent:
    """An event whose start is not stored has no depth: its scans before the records are not either."""
    if event.start is None:
        return event
    device = string_device_id(event.ups_id, event.string_id)
    start, end = event.start, max(event.end if event.end is not None else now, event.start) + 0.001

    async def lowest(q) -> float | None:
        found = await device_series(db, event.gateway, device, q.key, q.resolution, start, end, 1)
        return found[0][1] if found else None

    return replace(event, min_voltage=await lowest(_VOLTAGE), min_soc=await lowest(_SOC))
