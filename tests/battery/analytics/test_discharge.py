"""Discharge events: start past a threshold for a minimum time, end when charging resumes."""

from __future__ import annotations

import pytest

from battery.analytics import DischargeParams, DischargeState, params_for, step_discharge

BATTERY = params_for(12, 100.0)
PARAMS = DischargeParams(min_duration_s=1.0, weakest_count=2)


def feed(samples):
    state = DischargeState()
    events, active_at = [], []
    for t, current_a, cells in samples:
        state, event = step_discharge(state, t, 1.0, 120.0, current_a, cells, BATTERY, PARAMS)
        active_at.append(state.active)
        if event:
            events.append(event)
    return state, events, active_at


def test_a_discharge_is_detected_within_one_scan_and_back_dated():
    samples = [(t, 0.1, (13500, 13500)) for t in range(5)] + [(t, -50.0, (12100, 11900)) for t in range(5, 65)]
    samples += [(65, 8.0, (13600, 13600))]
    state, events, active = feed(samples)
    assert active.index(True) == 6, "not detected by the scan after the first one past the threshold"
    (event,) = events
    assert event.started_at == 5 and event.ended_at == 65 and event.duration_s == 60
    assert event.ah == pytest.approx(50.0 * 60 / 3600)
    assert event.wh == pytest.approx(event.ah * 120.0)
    assert event.min_cell_mv == 11900
    assert event.weakest_cells == ((2, 11900), (1, 12100))
    assert state == DischargeState()


def test_a_blip_shorter_than_the_minimum_time_is_no_event():
    _, events, active = feed([(0, -50.0, (12000, 12000)), (1, 0.0, (13000, 13000)), (2, 5.0, (13000, 13000))])
    assert events == [] and not any(active)


def test_a_cell_that_did_not_answer_is_left_out_of_the_minima():
    samples = [(t, -50.0, (12000, None if t == 3 else 12050)) for t in range(10)] + [(10, 5.0, (13000, 13000))]
    _, (event,), _ = feed(samples)
    assert event.weakest_cells == ((1, 12000), (2, 12050))


def test_no_current_for_long_ends_the_event_too():
    samples = [(t, -50.0, (12000, 12000)) for t in range(10)] + [(t, 0.0, (12500, 12500)) for t in range(10, 400)]
    _, events, _ = feed(samples)
    assert len(events) == 1 and events[0].ah == pytest.approx(50.0 * 10 / 3600) and events[0].ended_at == 10
