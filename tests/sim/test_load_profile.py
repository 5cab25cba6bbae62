"""The UPS schedule of a simulated string."""

import pytest

from sim.load_profile import LoadProfile, UpsMode


def test_floats_when_nothing_is_scheduled():
    p = LoadProfile()
    assert p.phase_at(123.0).mode is UpsMode.FLOAT
    assert p.next_change_after(0.0) is None


def test_discharge_covers_its_window_only():
    p = LoadProfile()
    p.schedule_discharge(100.0, 50.0, 30.0)
    assert p.phase_at(99.9).mode is UpsMode.FLOAT
    phase = p.phase_at(100.0)
    assert phase.mode is UpsMode.DISCHARGE and phase.discharge_current_a == 30.0
    assert p.phase_at(150.0).mode is UpsMode.FLOAT


def test_next_change_gives_start_then_end():
    p = LoadProfile()
    p.schedule_equalize(100.0, 50.0)
    p.schedule_idle(300.0, 10.0)
    assert p.next_change_after(0.0) == 100.0
    assert p.next_change_after(100.0) == 150.0
    assert p.next_change_after(150.0) == 300.0
    assert p.next_change_after(310.0) is None


def test_overlapping_events_are_refused_with_both_windows_named():
    p = LoadProfile()
    p.schedule_discharge(100.0, 50.0, 30.0)
    with pytest.raises(ValueError, match="overlaps discharge event 100.0..150.0"):
        p.schedule_equalize(140.0, 100.0)


@pytest.mark.parametrize("duration, current", [(0.0, 10.0), (10.0, 0.0), (10.0, -5.0)])
def test_bad_discharge_is_refused(duration, current):
    with pytest.raises(ValueError):
        LoadProfile().schedule_discharge(0.0, duration, current)


def test_forget_before_drops_finished_events():
    p = LoadProfile()
    p.schedule_discharge(0.0, 10.0, 1.0)
    p.schedule_discharge(20.0, 10.0, 1.0)
    p.forget_before(15.0)
    assert [e.start for e in p.events] == [20.0]
