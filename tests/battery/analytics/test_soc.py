"""SOC: coulomb counting against C10 with charge efficiency, OCV correction after rest."""

from __future__ import annotations

import pytest

from battery.analytics import SocState, params_for, peukert_factor, soc_from_ocv, step_soc

P = params_for(12, 100.0)  # C10 = 100 Ah: I_rated = 10 A


def integrate(state, current_a, vpc, seconds, dt_s=10.0, **kwargs):
    for _ in range(int(seconds / dt_s)):
        state = step_soc(state, current_a, vpc, dt_s, P, **kwargs)
    return state


def test_a_discharge_at_the_rated_current_counts_plain_ampere_hours():
    state = integrate(SocState(100.0), -10.0, 2.0, 3600)
    assert state.soc_pct == pytest.approx(90.0, abs=0.01)


def test_a_fast_discharge_removes_its_ampere_hours_no_more():
    """The charge a battery cannot deliver at 1 C is still stored: SOC (against C10) falls by
    the Ah drawn; Peukert's factor is the runtime's (test_runtime)."""
    fast = integrate(SocState(100.0), -100.0, 1.95, 360)  # 10 Ah at 1 C
    assert peukert_factor(-100.0, P) == pytest.approx(10**0.15)
    assert 100.0 - fast.soc_pct == pytest.approx(10.0, rel=1e-3)


def test_charge_counts_with_the_charge_efficiency():
    state = integrate(SocState(50.0), 10.0, 2.30, 3600)
    assert state.soc_pct == pytest.approx(50.0 + 10.0 * P.charge_efficiency, abs=0.01)


def test_after_a_rest_period_soc_converges_to_the_open_circuit_voltage():
    vpc = 2.04  # 50 % on the linear OCV relation
    assert soc_from_ocv(vpc, P) == pytest.approx(50.0)
    early = integrate(SocState(80.0), 0.0, vpc, P.rest_before_ocv_s - 60)
    assert early.soc_pct == pytest.approx(80.0), "corrected before the battery had rested"
    rested = integrate(early, 0.0, vpc, 8 * P.ocv_time_constant_s)
    # pulled into the band the OCV can tell, no further: the integral is trusted within it
    assert rested.soc_pct == pytest.approx(50.0 + P.ocv_band_pct, abs=0.1)
    assert rested.ocv_corrected_at is None  # no timestamps were given


def test_an_early_rest_reading_does_not_move_soc():
    """Half an hour after a discharge the rested voltage of a lead-acid battery is still
    relaxing upwards (and on the discharge branch): it reads far below the charge left."""
    after_discharge = integrate(SocState(75.0), 0.0, 2.00, 1800)  # 2.00 V/cell would say 28 %
    assert after_discharge.soc_pct == pytest.approx(75.0)


def test_the_ocv_pulls_soc_gradually_never_in_one_step():
    rested = integrate(SocState(80.0, rest_s=P.rest_before_ocv_s), 0.0, 2.04, 10.0)
    assert rested.soc_pct > 79.8


def test_a_float_at_tail_current_tops_soc_up_to_full():
    state = integrate(SocState(90.0), 0.2, 2.27, P.tail_hold_s + 6 * P.full_charge_time_constant_s)
    assert state.soc_pct > 99.5


def test_a_gap_longer_than_the_limit_is_not_integrated():
    state = step_soc(SocState(80.0, rest_s=5000.0), -50.0, 2.0, P.max_gap_s + 1, P)
    assert state.soc_pct == 80.0
    assert state.rest_s == 0.0


def test_soc_stays_within_0_and_100():
    assert integrate(SocState(1.0), -100.0, 1.9, 600).soc_pct == 0.0
    assert integrate(SocState(99.0), 50.0, 2.3, 600).soc_pct == 100.0


def test_a_smaller_capacity_empties_faster():
    whole = integrate(SocState(100.0), -10.0, 2.0, 1800)
    half = integrate(SocState(100.0), -10.0, 2.0, 1800, capacity_fraction=0.5)
    assert 100.0 - half.soc_pct == pytest.approx(2 * (100.0 - whole.soc_pct))
