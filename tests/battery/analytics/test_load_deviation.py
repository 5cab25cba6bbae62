"""A cell's SOC corrected during a discharge by its voltage under load against the string's median.

The string here is a plain model written for the test: each battery's OCV is linear in its own
SOC (of its own capacity), its loaded voltage is that minus a polarisation and its I·R, and in the
last 15 % it falls away (the knee). The battery under test has 89 % of its rating, a higher
resistance and a lower acid density; its neighbours differ in resistance and acid too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from battery.analytics import (
    AnalyticsParams,
    CellEstimate,
    LoadDeviation,
    SohEstimate,
    SohMethod,
    loaded_reference_vpc,
    params_for,
    rate_remainder_pct,
    step_cell,
    step_load_deviation,
)

P = AnalyticsParams(params_for(12, 100.0))
B = P.battery
CURRENT_A = -20.0  # 0.2 C: the capacity test's rate
SCAN_S = 30.0


@dataclass
class ModelBattery:
    capacity_ah: float
    resistance_uohm: int
    acid_offset_vpc: float = 0.0
    drawn_ah: float = 0.0

    @property
    def soc_pct(self) -> float:
        return 100.0 * (1.0 - self.drawn_ah / self.capacity_ah)

    def voltage_v(self, current_a: float) -> float:
        soc = self.soc_pct
        ocv = B.ocv_empty_vpc + (B.ocv_full_vpc - B.ocv_empty_vpc) * soc / 100.0 + self.acid_offset_vpc
        knee = 0.02 * max(0.0, 15.0 - soc)  # falls away in the last 15 %
        loaded = ocv - (0.025 if current_a < 0 else 0.0) - knee  # charge-transfer polarisation
        return B.cells_per_battery * loaded - abs(current_a) * self.resistance_uohm * 1e-6


def string_of(weak: ModelBattery) -> list[ModelBattery]:
    healthy = [ModelBattery(100.0 + 1.5 * (k % 3 - 1), 4000 + 150 * (k % 4), 0.002 * (k % 5 - 2)) for k in range(10)]
    return [weak] + healthy


def discharge(batteries, cells, drawn_ah, current_a=CURRENT_A, t0=0.0):
    """Draw `drawn_ah` from the string, stepping every cell as the gateway does each scan."""
    t = t0
    while batteries[1].drawn_ah < drawn_ah - 1e-9:
        t += SCAN_S
        for b in batteries:
            b.drawn_ah += abs(current_a) * SCAN_S / 3600.0
        mv = [round(1000 * b.voltage_v(current_a)) for b in batteries]
        r = [b.resistance_uohm for b in batteries]
        reference = loaded_reference_vpc(current_a, mv, r, B)
        cells = [step_cell(c, t, current_a, v / 1000, ri, P, reference) for c, v, ri in zip(cells, mv, r)]
    return cells, t


def start(batteries):
    """Every cell full and on float before the discharge (its last reading at t = 0)."""
    return [step_cell(CellEstimate(), 0.0, 0.1, b.voltage_v(0.1) + 0.6, b.resistance_uohm, P) for b in batteries]


def test_a_cell_with_89_percent_capacity_converges_to_its_true_soc():
    """Ah counting against C10 reads the weak battery high by 0.12 points per % drawn (9.3 points
    after 75 Ah); its voltage sagging ever further below the string's median says so."""
    batteries = string_of(ModelBattery(89.0, 5600, -0.004))
    cells, t = discharge(batteries, start(batteries), 60.0)
    weak = cells[0].soc.soc_pct
    counted = 100.0 - 60.0
    assert batteries[0].soc_pct == pytest.approx(32.6, abs=0.1)
    assert abs(weak - batteries[0].soc_pct) < 0.5 * (counted - batteries[0].soc_pct)  # over half of 7.4 gone
    cells, _ = discharge(batteries, cells, 75.0, t0=t)  # on into the weak battery's knee
    assert abs(cells[0].soc.soc_pct - batteries[0].soc_pct) < 4.5  # the count alone: +9.3
    for cell, battery in zip(cells[1:], batteries[1:]):  # acid and resistance spread is no charge
        assert abs(cell.soc.soc_pct - battery.soc_pct) < 2.5


def test_a_measured_capacity_is_not_corrected_twice():
    """A battery whose capacity a test measured already counts against it: its voltage, sagging
    as that capacity predicts, adds nothing."""
    batteries = string_of(ModelBattery(89.0, 5600, -0.004))
    cells = start(batteries)
    cells[0] = replace(cells[0], soh_capacity=SohEstimate(89.0, SohMethod.CAPACITY, 0.0, to_end_voltage=True))
    cells, _ = discharge(batteries, cells, 60.0)
    assert abs(cells[0].soc.soc_pct - batteries[0].soc_pct) < 1.5
    assert abs(cells[0].load.correction_pct) < 1.5


def test_the_correction_stays_when_the_discharge_ends():
    batteries = string_of(ModelBattery(89.0, 5600, -0.004))
    cells, t = discharge(batteries, start(batteries), 60.0)
    corrected = cells[0].soc.soc_pct
    recharged = step_cell(cells[0], t + SCAN_S, 10.0, 12.6, 5600, P)  # charging: no reference
    assert recharged.load == LoadDeviation()
    assert recharged.soc.soc_pct > corrected  # counted on from the corrected value
    assert recharged.soc.soc_pct < 100.0 - 60.0 - 4.0


def test_nothing_is_corrected_before_the_discharge_settles_or_without_a_reference():
    state, soc = step_load_deviation(LoadDeviation(), 95.0, CURRENT_A, 1.98, 5600, 2.05, SCAN_S, B)
    assert soc == 95.0 and state.offset_vpc is None  # the first minutes: coup de fouet
    settled = LoadDeviation(loaded_s=B.deviation_settle_s, drawn_pct=2.0, offset_vpc=0.0)
    assert step_load_deviation(settled, 90.0, CURRENT_A, 1.9, 5600, None, SCAN_S, B) == (LoadDeviation(), 90.0)
    assert step_load_deviation(settled, 90.0, -0.5, 1.9, 5600, 2.0, SCAN_S, B) == (LoadDeviation(), 90.0)


def test_in_the_knee_the_rate_is_no_longer_learned_nor_below_the_rate_remainder():
    """In the last part of a discharge the voltage falls away faster than the OCV's slope: a
    departure there is not a difference in charge. The end voltage's anchor is for that."""
    learned = LoadDeviation(7200.0, drawn_pct=40.0, offset_vpc=0.0, settled_drawn_pct=38.0, excess_rate=-0.05)
    learned = replace(learned, correction_pct=-2.0)
    reference = 1.96
    # 0.1 V per cell below the median: on the linear part this would be 55 points
    state, soc = step_load_deviation(learned, 22.0, CURRENT_A, 1.84, 5600, reference, SCAN_S, B)
    assert state.excess_rate == -0.05  # kept from before the knee
    assert soc == pytest.approx(22.0 - 0.05 * state.drawn_pct + 2.0)
    deep = replace(learned, excess_rate=-0.5)  # would take it to -6 %
    _, soc = step_load_deviation(deep, 12.0, CURRENT_A, 1.84, 5600, reference, SCAN_S, B)
    assert soc == pytest.approx(rate_remainder_pct(CURRENT_A, B))  # 9.9 % at 0.2 C


def test_the_reference_is_the_median_without_its_ohmic_drop_during_a_discharge_only():
    mv = [12000, 12060, None, 0, 11400, 12030]
    r = [5000, 4000, 4000, 4000, 9000, 4000]
    reference = loaded_reference_vpc(-20.0, mv, r, B)
    # plus I·R: 12.10, 12.14, 11.58, 12.11 V (no answer and None left out): median 12.105 V
    assert reference == pytest.approx(12.105 / 6)
    assert loaded_reference_vpc(0.5, mv, r, B) is None  # float: no reference
    assert loaded_reference_vpc(-20.0, [12000, None, 0], r[:3], B) is None  # one reading is no median
