"""The pure battery maths: plausibility, charge state, SOC, SOH, balance, UPS aggregates."""

from __future__ import annotations

import pytest

from actors.base.supervision import RestartPolicy
from battery.codes import CellFault, ChargeState, Health
from battery.maths import (
    balance_pct,
    charge_state,
    soc_from_rest_voltage,
    soh_from_resistance,
    update_soc,
    volts_per_cell,
)
from battery.plausibility import health_of, reading_faults
from battery.ups_math import aggregate


class TestPlausibility:
    def test_a_healthy_12v_reading_has_no_fault(self):
        assert reading_faults(12, True, 13600, 4000, 250) == 0
        assert health_of(0) == Health.OK

    def test_no_answer_is_stale_and_nothing_else(self):
        faults = reading_faults(12, False, 0, 0, 3000)
        assert faults == CellFault.NO_RESPONSE and health_of(faults) == Health.STALE

    @pytest.mark.parametrize(
        "nominal, mv, fault",
        [
            (12, 2, CellFault.OPEN_CIRCUIT),
            (12, 3749, CellFault.OPEN_CIRCUIT),
            (12, 3750, CellFault.NONE),  # deeply discharged but measurable: an alarm, not a fault
            (12, 17161, CellFault.VOLTAGE_IMPLAUSIBLE),
            (2, 799, CellFault.OPEN_CIRCUIT),
            (2, 2870, CellFault.VOLTAGE_IMPLAUSIBLE),
            (6, 9000, CellFault.NONE),
        ],
    )
    def test_voltage(self, nominal, mv, fault):
        assert reading_faults(nominal, True, mv, 4000, 250) & ~CellFault.RESISTANCE_IMPLAUSIBLE == fault

    def test_300_degrees_is_a_sensor_fault_not_a_temperature(self):
        faults = reading_faults(12, True, 13600, 4000, 3000)
        assert faults == CellFault.TEMPERATURE_IMPLAUSIBLE and health_of(faults) == Health.ERROR
        assert reading_faults(12, True, 13600, 4000, 850) == 0
        assert reading_faults(12, True, 13600, 4000, -201) == CellFault.TEMPERATURE_IMPLAUSIBLE

    def test_resistance_out_of_range_unless_the_cell_is_open(self):
        assert reading_faults(12, True, 13600, 65535 * 10, 250) == CellFault.RESISTANCE_IMPLAUSIBLE
        assert reading_faults(12, True, 5, 65535 * 10, 250) == CellFault.OPEN_CIRCUIT


class TestChargeState:
    def state(self, current, vpc, hall=True, relay=True):
        return charge_state(current, 100.0, vpc, hall, relay)

    def test_states(self):
        assert self.state(0.1, 2.27) == ChargeState.FLOAT
        assert self.state(-50, 2.05) == ChargeState.DISCHARGE
        assert self.state(0.5, 2.36) == ChargeState.EQUALIZE
        assert self.state(20, 2.15) == ChargeState.FLOAT  # recharge after a discharge
        assert self.state(0.0, 2.10) == ChargeState.IDLE
        assert self.state(0.1, 2.27, hall=False) == ChargeState.ABNORMAL
        assert self.state(0.1, 2.27, relay=False) == ChargeState.IDLE
        assert self.state(0.1, 2.55) == ChargeState.ABNORMAL

    def test_volts_per_cell_of_a_string_of_12v_batteries(self):
        assert volts_per_cell(544.0, 12, 40) == pytest.approx(2.2667, abs=1e-4)


class TestSoc:
    def test_discharge_counts_against_the_remaining_capacity(self):
        # 100 Ah at 80 % SOH: 1 h at 40 A takes 50 % of 80 Ah
        assert update_soc(100.0, -40.0, 3600, 100.0, 80.0, 2.0) == pytest.approx(50.0)

    def test_charge_counts_with_efficiency(self):
        assert update_soc(50.0, 10.0, 3600, 100.0, 100.0, 2.3) == pytest.approx(59.5)

    def test_float_tops_up_and_never_passes_100(self):
        assert update_soc(99.0, 0.1, 3600, 100.0, 100.0, 2.27) == 100.0

    def test_rest_moves_towards_the_open_circuit_estimate(self):
        assert soc_from_rest_voltage(2.04) == pytest.approx(50.0)
        assert update_soc(90.0, 0.0, 600, 100.0, 100.0, 2.04) == pytest.approx(50.0)
        assert 50.0 < update_soc(90.0, 0.0, 60, 100.0, 100.0, 2.04) < 90.0

    def test_no_time_no_change(self):
        assert update_soc(42.0, -100.0, 0, 100.0, 100.0, 2.0) == 42.0


class TestSohAndBalance:
    def test_soh_from_resistance(self):
        assert soh_from_resistance(4000, 4000) == 100.0
        assert soh_from_resistance(5000, 4000) == pytest.approx(50.0)
        assert soh_from_resistance(7000, 4000) == 0.0
        assert soh_from_resistance(3000, 4000) == 100.0
        assert soh_from_resistance(3000, 0) == 100.0

    def test_balance(self):
        assert balance_pct([13600] * 40) == 100.0
        assert balance_pct([13600, 13464]) == pytest.approx(100 * (1 - 136 / 13532), abs=1e-9)
        assert balance_pct([13600]) == 100.0


class TestUps:
    def test_average_sum_average(self):
        a = aggregate([540.0, 546.0], [10.0, -4.0], [90.0, 100.0])
        assert (a.voltage_v, a.current_a, a.soc_pct) == (543.0, 6.0, 95.0)

    def test_an_unknown_string_current_makes_the_sum_unknown(self):
        assert aggregate([540.0, 546.0], [10.0, None], [90.0, 100.0]).current_a is None
        assert aggregate([540.0, 546.0], [10.0, None], [90.0, 100.0]).voltage_v == 543.0

    def test_no_fresh_string_gives_unknown(self):
        assert aggregate([], [], []) == aggregate([], [], [])
        assert aggregate([], [], []).voltage_v is None


def test_restarts_back_off_after_three_in_a_minute():
    policy = RestartPolicy()
    delays = [policy.delay_before_restart("bus:sim", t) for t in (0, 1, 2, 3, 4, 5)]
    assert delays == [0.0, 0.0, 0.0, 0.5, 1.0, 2.0]
    assert policy.delay_before_restart("bus:sim", 100.0) == 0.0  # the window has passed


def test_smoothed_resistance_follows_a_step_slowly_and_ignores_scatter():
    from battery.maths import RESISTANCE_SMOOTHING_S, smoothed

    assert smoothed(None, 4000, 1.0, RESISTANCE_SMOOTHING_S) == 4000.0  # first sample
    assert smoothed(4000.0, 5000, 0.0, RESISTANCE_SMOOTHING_S) == 4000.0  # no time passed
    samples = [4195 if k % 2 else 4215 for k in range(600)]  # ±10 µΩ of scatter, 10 minutes at 1 s
    assert {round(soh_from_resistance(r, 4000)) for r in samples} == {89, 90}  # raw: flickers
    avg, sohs = 4205.0, set()
    for r in samples:
        avg = smoothed(avg, r, 1.0, RESISTANCE_SMOOTHING_S)
        sohs.add(round(soh_from_resistance(avg, 4000)))
    assert sohs == {90}  # smoothed: one whole percent, scan after scan
    avg = 4000.0
    for _ in range(int(RESISTANCE_SMOOTHING_S)):  # a real rise to 5000 µΩ: 63 % of it after one τ
        avg = smoothed(avg, 5000, 1.0, RESISTANCE_SMOOTHING_S)
    assert 4600 < avg < 4700
