"""Pure rules of history: hourly summaries, downsampling, retention decisions, discharge events."""

from __future__ import annotations

from array import array

import pytest

from battery.codes import Health
from storage.history import downsample, retention, summaries
from storage.history.discharge import DischargeTracker, Transition, transition
from storage.history.schema import DAY_S, month_first_day


def test_hour_summaries_skip_stale_samples() -> None:
    offsets = array("i", [0, 1000, 2000, 3_600_000, 3_601_000])
    values = array("i", [10, 20, 999, 5, 7])
    present = bytes([1, 1, 0, 1, 1])
    [hours] = summaries.summarize(offsets, [values], [present])
    assert (hours[0].count, hours[0].min, hours[0].avg, hours[0].max) == (2, 10, 15.0, 20)
    assert (hours[1].count, hours[1].min, hours[1].max) == (2, 5, 7)
    assert hours[2].count == 0
    back = summaries.unpack_hours(summaries.pack_hours([hours]), 1)[0]
    assert back[0].avg == 15.0 and back[1].max == 7 and back[5].count == 0


def test_downsampling_bounds_points_and_keeps_extremes() -> None:
    ts = array("q", [i * 10_000 for i in range(8640)])  # a day at 10 s, in ms
    values = array("i", [i % 100 for i in range(8640)])
    values[4321] = 5000
    acc: downsample.Buckets = {}
    width = downsample.bucket_width(0, DAY_S, 50)
    downsample.add_samples(acc, ts, values, bytes([1]) * 8640, 0, width, DAY_S)
    pts = downsample.points(acc, 0, width, 1.0)
    assert len(pts) == 50
    assert max(p[3] for p in pts) == 5000
    assert all(p[1] <= p[2] <= p[3] for p in pts)


def test_downsampling_ignores_samples_outside_the_range() -> None:
    ts = array("q", [0, 5_000, 10_000, 15_000])
    acc: downsample.Buckets = {}
    downsample.add_samples(acc, ts, array("i", [1, 2, 3, 4]), b"\x01" * 4, 5, 5, 15)
    assert downsample.points(acc, 5, 5, 1.0) == [(5, 2, 2, 2), (10, 3, 3, 3)]


def test_ups_combination_mean_and_sum() -> None:
    a = {0: [1.0, 4.0, 2, 3.0]}  # avg 2
    b = {0: [3.0, 8.0, 2, 5.0], 1: [1.0, 1.0, 1, 1.0]}  # avg 4
    assert downsample.combine([a, b], "sum")[0] == [4.0, 6.0, 1, 8.0]
    assert downsample.combine([a, b], "mean")[0] == [2.0, 3.0, 1, 4.0]
    assert downsample.combine([a, b], "mean")[1] == [1.0, 1.0, 1, 1.0]  # a missing string is not a zero
    with pytest.raises(ValueError, match="unknown aggregation"):
        downsample.combine([a], "max")


def test_bad_ranges_are_named() -> None:
    with pytest.raises(ValueError, match="end"):
        downsample.bucket_width(10, 10, 5)
    with pytest.raises(ValueError, match="max_points"):
        downsample.bucket_width(0, 10, 0)


def test_retention_decisions() -> None:
    p = retention.RetentionPolicy(retention_days=30, hot_days=2, compaction_grace_s=300)
    today = 20_100
    hot = [20_096, 20_097, 20_098, 20_099, 20_100]
    compacted = {20_096, 20_097, 20_098}
    assert retention.hot_days_to_delete(hot, compacted, today, p) == [20_096, 20_097, 20_098]
    # day 20_099 is over, but its grace for late scans is not
    assert retention.days_to_compact(hot, compacted, today * DAY_S + 10, p) == []
    assert retention.days_to_compact(hot, compacted, today * DAY_S + 400, p) == [20_099]
    months = ["2024-08", "2024-09", "2024-10", "2024-11"]
    # today is 2025-01-13, so 30 days keep from 2024-12-15: all four months have expired
    assert retention.months_to_delete(months, today, p) == months
    assert retention.months_to_delete(months, month_first_day("2024-11") + 20, p) == ["2024-08", "2024-09"]


def test_space_victim_is_oldest_and_never_today() -> None:
    today = month_first_day("2024-11") + 3
    assert retention.space_victim([today - 1, today], ["2024-09", "2024-10"], today) == ("cold", "2024-09")
    assert retention.space_victim([today], ["2024-11"], today) is None
    assert retention.space_victim([today - 1, today], [], today) == ("hot", today - 1)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="retention_days"):
        retention.RetentionPolicy(retention_days=0)


def test_discharge_transitions() -> None:
    """An event follows the string master's discharge detector (StringStatus.discharging)."""
    assert transition(False, Health.OK, True) is Transition.START
    assert transition(True, Health.OK, False) is Transition.END
    assert transition(True, Health.STALE, False) is Transition.NONE  # unknown state: keep going
    t = DischargeTracker(next_id=7)
    assert t.on_scan(1, Health.OK, True) == (Transition.START, 7)
    assert t.on_scan(1, Health.OK, True) == (Transition.NONE, 7)
    assert t.on_scan(2, Health.OK, False) == (Transition.NONE, None)
    assert t.on_scan(1, Health.OK, False) == (Transition.END, 7)
    assert t.on_scan(1, Health.OK, True) == (Transition.START, 8)
