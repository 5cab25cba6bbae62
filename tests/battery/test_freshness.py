"""Staleness by age: the threshold from the bus' scan period, and the tracker both servers use."""

from __future__ import annotations

import dataclasses

import pytest

from battery.freshness import (
    FreshnessTracker,
    is_stale_by_age,
    stale_after_s,
    string_thresholds,
    ups_thresholds,
)
from battery.site import BusConfig
from tests.factories import sample_topology


def test_threshold_is_three_scan_periods_but_at_least_ten_seconds() -> None:
    assert stale_after_s(1.0) == 10.0
    assert stale_after_s(3.0) == 10.0
    assert stale_after_s(5.0) == 15.0
    with pytest.raises(ValueError, match="scan_period_s"):
        stale_after_s(0.0)


def test_stale_means_older_than_the_threshold() -> None:
    assert not is_stale_by_age(10.0, 10.0)
    assert is_stale_by_age(10.01, 10.0)
    assert not is_stale_by_age(-1.0, 10.0)  # a timestamp slightly ahead of our clock is current


def test_thresholds_come_from_each_strings_bus() -> None:
    t = sample_topology(upses=2, strings_per_ups=2, cells=2)
    slow = BusConfig(id="slow", port="sim://slow", scan_period_s=8.0)
    ups2 = t.upses[1]
    ups2 = dataclasses.replace(ups2, strings=(dataclasses.replace(ups2.strings[0], bus="slow"), ups2.strings[1]))
    t = dataclasses.replace(t, buses=(*t.buses, slow), upses=(t.upses[0], ups2))
    assert string_thresholds(t) == {"s1": 10.0, "s2": 10.0, "s3": 24.0, "s4": 10.0}
    assert ups_thresholds(t) == {"ups1": 10.0, "ups2": 24.0}  # the slowest bus of the UPS


def test_tracker_reports_a_device_going_stale_once() -> None:
    tracker = FreshnessTracker({"s1": 10.0, "s2": 10.0})
    assert tracker.is_stale("s1", 0.0) and tracker.stale_count(0.0) == 2  # nothing received yet
    tracker.received("s1", status_fresh=True, now=100.0)
    assert not tracker.is_stale("s1", 110.0) and tracker.stale_count(110.0) == 1
    assert tracker.went_stale(110.0) == []
    assert tracker.is_stale("s1", 110.5)
    assert tracker.went_stale(110.5) == ["s1"]
    assert tracker.went_stale(111.5) == []  # reported once
    tracker.received("s1", status_fresh=True, now=112.0)
    assert not tracker.is_stale("s1", 112.0)
    tracker.received("s1", status_fresh=False, now=113.0)  # the string master did not answer
    assert tracker.is_stale("s1", 113.0) and tracker.went_stale(200.0) == []


def test_tracker_names_an_unknown_device() -> None:
    with pytest.raises(KeyError, match="s9"):
        FreshnessTracker({"s1": 10.0}).received("s9", True, 0.0)
