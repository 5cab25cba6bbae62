"""The cells' batch of a scan: its reference voltage under load, computed once for all cells."""

from __future__ import annotations

import pytest

from battery.analytics import params_for
from battery.readings import StringScan
from battery.string_values import cell_batch

B = params_for(12, 100.0)


def scan(**changes) -> StringScan:
    values = dict(
        string_id="U1S1",
        scan_no=1,
        timestamp=1_700_000_000.0,
        responded=True,
        voltage_cv=4800,
        current_ca=-2000,  # 20 A discharge
        hall_ok=True,
        ambient_dc=235,
        humidity_dpct=451,
        relay_closed=True,
        cell_voltage_mv=(12000, 12060, 2, 12030),  # battery 3: an open sense lead
        cell_resistance_uohm=(5000, 4000, 4000, 4000),
        cell_temperature_dc=(250, 251, 249, 250),
        cell_responded=(True,) * 4,
    )
    values.update(changes)
    return StringScan(**values)


def test_a_discharging_batch_carries_the_median_of_the_valid_cells_without_their_ohmic_drop():
    batch = cell_batch(scan(), 4, battery=B)
    # 12.10, 12.14 and 12.11 V with I·R added; the open lead is no reading: median 12.11 V
    assert batch.loaded_reference_vpc == pytest.approx(12.11 / 6)


def test_no_reference_on_float_or_without_the_battery_type():
    assert cell_batch(scan(current_ca=20), 4, battery=B).loaded_reference_vpc is None
    assert cell_batch(scan(), 4).loaded_reference_vpc is None
