"""Charge state with hysteresis and dwell: no flicker at a threshold."""

from __future__ import annotations

from battery.analytics import ChargeStateTracker, classify, params_for, step_charge_state
from battery.codes import ChargeState

P = params_for(12, 100.0)  # rest current 1 A, float from 2.18 V per cell


def run(readings, tracker=None, dt_s=1.0):
    tracker = tracker or ChargeStateTracker()
    states = []
    for current_a, vpc in readings:
        tracker = step_charge_state(tracker, current_a, vpc, dt_s, P)
        states.append(tracker.state)
    return states


def test_one_reading_is_classified_by_the_thresholds():
    assert classify(0.2, 2.25, P) == ChargeState.FLOAT
    assert classify(0.2, 2.36, P) == ChargeState.EQUALIZE
    assert classify(-5.0, 2.05, P) == ChargeState.DISCHARGE
    assert classify(0.0, 2.10, P) == ChargeState.IDLE
    assert classify(0.0, 2.55, P) == ChargeState.ABNORMAL
    assert classify(0.0, 2.25, P, hall_ok=False) == ChargeState.ABNORMAL
    assert classify(-5.0, 2.25, P, relay_closed=False) == ChargeState.IDLE


def test_a_voltage_hovering_at_the_float_threshold_does_not_flicker():
    noisy = [(0.0, 2.18 + (0.005 if i % 2 else -0.005)) for i in range(120)]
    states = run(noisy)
    assert len(set(states)) == 1, "the state flipped with ±5 mV per cell of noise"
    # the old classifier (no hysteresis) flipped on every reading
    raw = {classify(i, v, P) for i, v in noisy}
    assert raw == {ChargeState.FLOAT, ChargeState.IDLE}


def test_a_current_hovering_at_the_discharge_threshold_does_not_flicker():
    tracker = step_charge_state(ChargeStateTracker(), -1.5, 2.10, 1.0, P)
    assert tracker.state == ChargeState.DISCHARGE
    states = run([(-1.0 + (0.2 if i % 2 else -0.2), 2.10) for i in range(60)], tracker)
    assert set(states) == {ChargeState.DISCHARGE}


def test_a_discharge_is_shown_at_once_and_a_calmer_state_after_its_dwell():
    states = run([(0.1, 2.27)] * 3 + [(-20.0, 2.0)] + [(0.5, 2.27)] * 15)
    assert states[3] == ChargeState.DISCHARGE, "a discharge must be shown on its first scan"
    back = states.index(ChargeState.FLOAT, 4)
    assert back - 3 >= P.dwell_s, "float shown before it held for the dwell time"
