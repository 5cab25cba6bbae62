"""Turning a rule's transition into the message that carries it up the tree.

The CellSensor does not know its string's ids; the StringMaster wraps its cells' transitions
with `to_alarm_message(t, ups_id=..., string_id=..., cell_index=...)` and sends them up
together with its own string's transitions.
"""

from __future__ import annotations

from battery.alarms.evaluator import AlarmTransition
from battery.alarms.records import AlarmCleared, AlarmRaised


def to_alarm_message(
    t: AlarmTransition, *, ups_id: str | None, string_id: str | None, cell_index: int | None = None
) -> AlarmRaised | AlarmCleared:
    cls = AlarmRaised if t.raised else AlarmCleared
    return cls(
        kind=t.kind.value,
        ups_id=ups_id,
        string_id=string_id,
        cell_index=cell_index,
        value=t.value,
        limit=t.limit,
        time=t.time,
        detail=t.detail,
    )
