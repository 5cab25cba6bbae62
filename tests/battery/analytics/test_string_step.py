"""A string driven scan by scan through float, a deep discharge and recharge."""

from __future__ import annotations

import pytest

from battery.analytics import (
    AnalyticsParams,
    BaselineParams,
    CellEstimate,
    SohMethod,
    StringAnalytics,
    StringMeasurement,
    params_for,
    step_cell,
    step_string,
    view_of,
    with_capacity,
)
from battery.codes import ChargeState

N = 4
PARAMS = AnalyticsParams(params_for(12, 100.0), baseline=BaselineParams(window_s=600.0, samples=10))


class Bench:
    def __init__(self):
        self.cells = [CellEstimate()] * N
        self.string = StringAnalytics()
        self.t = 0.0
        self.results = []

    def scan(self, current_a, battery_v, resistance=(4000, 4000, 5200, 4000), dt_s=10.0):
        self.t += dt_s
        self.cells = [step_cell(c, self.t, current_a, battery_v, r, PARAMS) for c, r in zip(self.cells, resistance)]
        mv = tuple(round(battery_v * 1000) for _ in range(N))
        m = StringMeasurement(self.t, battery_v * N, current_a, mv, tuple(resistance), (25.0,) * N, 25.0)
        self.string, result = step_string(self.string, m, [view_of(c, PARAMS) for c in self.cells], PARAMS)
        self.cells = [with_capacity(c, e) for c, e in zip(self.cells, result.capacity_soh)]
        self.results.append(result)
        return result


def test_float_discharge_and_recharge_through_every_estimator():
    bench = Bench()
    for _ in range(70):  # commissioning on float: every cell learns its baseline
        result = bench.scan(0.1, 13.6)
    assert result.state == ChargeState.FLOAT and result.runtime_min is None
    assert all(c.baseline.final for c in bench.cells)
    for _ in range(300):  # on float cell 3 reads +15 % over its baseline of 5200 µΩ
        result = bench.scan(0.1, 13.6, resistance=(4000, 4000, 6000, 4000))
    first = bench.scan(-10.0, 12.2)
    assert first.state == ChargeState.DISCHARGE and first.runtime_min == pytest.approx(600.0, rel=0.01)
    for _ in range(8 * 360):  # 8 h at the rated current, down to the end voltage
        result = bench.scan(-10.0, 12.0, resistance=(6000, 4000, 6500, 4000))
    assert result.discharge_active and result.soc_pct == pytest.approx(20.0, abs=0.5)
    assert result.runtime_min == pytest.approx(120.0, rel=0.02)
    # ranked by the rise read on float (cell 3), not by readings inflated under load (cell 1)
    assert [k for k, _ in result.weakest.by_resistance_rise][:1] == [3]
    assert result.weakest.by_resistance_rise[0][1] == pytest.approx(0.15, abs=0.01)
    bench.scan(-10.0, 10.4)  # every cell at 1.73 V per cell: its end voltage
    end = bench.scan(20.0, 13.8)
    assert end.event is not None and end.event.ah == pytest.approx(80.0, rel=0.01)
    assert not end.discharge_active
    soh = bench.cells[0].soh
    assert soh.method == SohMethod.CAPACITY and soh.at == bench.t
    assert soh.soh_pct == pytest.approx(80.0, abs=1.0)
