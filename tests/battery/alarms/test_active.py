"""The active-alarm table every server serves: what each AlarmNotice event does to it."""

from __future__ import annotations

import dataclasses

import pytest

from battery.alarms.active import ActiveAlarms, is_active, notifies
from battery.alarms.records import AlarmNotice


def notice(alarm_id: int, event: str = "raised", **changes: object) -> AlarmNotice:
    base = AlarmNotice(
        event=event,
        alarm_id=alarm_id,
        kind="cell_voltage_high",
        title="Voltage high",
        ups_id="ups1",
        string_id="s1",
        cell_index=2,
        value=14.9,
        limit=14.4,
        from_time=1000.0,
        to_time=None,
        acknowledged_by=None,
        acknowledged_at=None,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_raise_acknowledge_clear() -> None:
    alarms = ActiveAlarms()
    assert alarms.apply(notice(7)) is True
    assert 7 in alarms and alarms.counts() == (1, 1)
    assert alarms.apply(notice(7, "acknowledged", acknowledged_by="op", acknowledged_at=1010.0)) is True
    assert alarms.counts() == (1, 0) and alarms.by_id[7].acknowledged_by == "op"
    assert alarms.apply(notice(7, "cleared", to_time=1020.0)) is True
    assert len(alarms) == 0 and alarms.counts() == (0, 0)


def test_acknowledging_a_cleared_alarm_does_not_bring_it_back() -> None:
    alarms = ActiveAlarms()
    alarms.apply(notice(7))
    alarms.apply(notice(7, "cleared", to_time=1020.0))
    late_ack = notice(7, "acknowledged", to_time=1020.0, acknowledged_by="op", acknowledged_at=1030.0)
    assert alarms.apply(late_ack) is False
    assert 7 not in alarms and alarms.counts() == (0, 0)


def test_active_sync_fills_the_table_without_being_news() -> None:
    alarms = ActiveAlarms()
    synced = notice(3, "active", acknowledged_by="op", acknowledged_at=900.0)
    assert alarms.apply(synced) is True and alarms.counts() == (1, 0)
    assert alarms.apply(synced) is False  # the same state again changes nothing
    assert not notifies(synced)
    assert notifies(notice(3)) and notifies(notice(3, "cleared", to_time=1.0))
    assert not notifies(notice(3, "acknowledged")) and not notifies(notice(3, "closed", to_time=1.0))


def test_closed_and_unknown_events() -> None:
    alarms = ActiveAlarms()
    alarms.apply(notice(4))
    assert alarms.apply(notice(4, "closed", to_time=2000.0)) is True and len(alarms) == 0
    assert alarms.apply(notice(5, "cleared", to_time=2000.0)) is False  # never seen: nothing to remove
    with pytest.raises(ValueError, match="alarm 6.*'silenced'"):
        is_active(notice(6, "silenced"))


def test_rows_in_id_order_and_per_string() -> None:
    alarms = ActiveAlarms()
    for n in (notice(9), notice(2, string_id="s2"), notice(5, cell_index=None, kind="hall_sensor")):
        alarms.apply(n)
    assert [a.alarm_id for a in alarms] == [2, 5, 9]
    assert [a.alarm_id for a in alarms.of_string("s1")] == [5, 9]
