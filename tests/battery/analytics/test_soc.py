"""SOC: coulomb counting with Peukert and charge efficiency, OCV correction after rest."""

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


def test_peukert_makes_a_fast_discharge_use_more_than_its_ampere_hours():
    fast = integrate(SocState(100.0), -100.0, 1.95, 360)  # 10 Ah at 1 C
    assert peukert_factor(-100.0, P) == pytest.approx(10**0.15)
    assert 100.0 - fast.soc_pct == pytest.approx(10.0 * 10**0.15, rel=1e-3)


def test_charge_counts_with_the_charge_efficiency():
    state = integrate(SocState(50.0), 10.0, 2.30, 3600)
    assert state.soc_pct == pytest.approx(50.0 + 10.0 * P.charge_efficiency, abs=0.01)


def test_after_a_rest_period_soc_converges_to_the_open_circuit_voltage():
    vpc = 2.04  # 50 % on the linear OCV relation
    assert soc_from_ocv(vpc, P) == pytest.approx(50.0)
    early = integrate(SocState(80.0), 0.0, vpc, P.rest_before_ocv_s - 60)
    assert early.soc_pct == pytest.approx(80.0), "corrected before the battery had rested"
    rested = integrate(early, 0.0, vpc, 6 * P.ocv_time_constant_s)
    assert rested.soc_pct == pytest.approx(50.0, abs=0.5)
    assert rested.ocv_corrected_at is None  # no timestamps were given


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
