"""The pure battery maths: plausibility, volts per cell, balance, UPS aggregates (the estimators
with memory are tested in tests/battery/analytics/)."""

from __future__ import annotations

import pytest

from actors.base.supervision import RestartPolicy
from battery.codes import CellFault, Health
from battery.maths import balance_pct, volts_per_cell
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


class TestVoltsPerCell:
    def test_volts_per_cell_of_a_string_of_12v_batteries(self):
        assert volts_per_cell(544.0, 12, 40) == pytest.approx(2.2667, abs=1e-4)


class TestBalance:
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
