"""Runtime remaining with Peukert's law: the rate loss held back at the end of the discharge."""

from __future__ import annotations

import pytest

from battery.analytics import linear_runtime_min, params_for, runtime_min, ups_runtime_min

P = params_for(12, 100.0)  # C10: I_rated 10 A, k 1.15


def test_at_the_rated_current_peukert_and_linear_agree():
    assert runtime_min(100.0, -10.0, P) == pytest.approx(600.0)
    assert linear_runtime_min(100.0, -10.0, 100.0) == pytest.approx(600.0)


def test_from_full_at_a_constant_current_runtime_is_peukerts_law():
    """t = H·(C/(I·H))^k: 10 h at 10 A, 10·10^-1.15 h at 1 C (100 A)."""
    assert runtime_min(100.0, -100.0, P) == pytest.approx(60.0 * 10.0 * (100.0 / (100.0 * 10.0)) ** 1.15)
    assert runtime_min(100.0, -20.0, P) == pytest.approx(60.0 * 10.0 * (100.0 / (20.0 * 10.0)) ** 1.15)


def test_the_rate_loss_is_held_back_at_the_end_not_shared_by_the_charge_left():
    """At 1 C a full battery delivers C_1C = C·10^-0.15 ≈ 70.8 Ah: with half of C drawn at any
    rate, 70.8 − 50 Ah are left at 1 C (not half of 70.8)."""
    c_1c = 100.0 * 10**-0.15
    peukert = runtime_min(50.0, -100.0, P)
    assert peukert == pytest.approx(60.0 * (c_1c - 50.0) / 100.0)
    assert peukert < linear_runtime_min(50.0, -100.0, 100.0)
    assert runtime_min(20.0, -100.0, P) == 0.0  # less left than the 1 C rate holds back


def test_no_runtime_unless_discharging():
    assert runtime_min(80.0, 5.0, P) is None
    assert runtime_min(80.0, -0.5, P) is None  # below the rest current: no discharge
    assert runtime_min(None, -50.0, P) is None


def test_a_measured_smaller_capacity_shortens_runtime():
    assert runtime_min(50.0, -50.0, P, capacity_fraction=0.8) == pytest.approx(0.8 * runtime_min(50.0, -50.0, P))


def test_a_ups_runs_as_long_as_its_shortest_string():
    assert ups_runtime_min([30.0, None, 12.5]) == 12.5
    assert ups_runtime_min([None]) is None
