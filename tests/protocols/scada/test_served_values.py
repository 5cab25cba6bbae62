"""The one rule for which cell readings are served as measurements (Modbus, SNMP, web)."""

from __future__ import annotations

import pytest

from battery.codes import CellFault
from protocols.scada.served_values import served_cell_values

V, R, T = 13_512, 4_250, 251  # 13.512 V, 4.25 mΩ, 25.1 °C


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        (CellFault.NONE, (V, R, T)),
        (CellFault.NO_RESPONSE, (None, None, None)),
        (CellFault.OPEN_CIRCUIT, (V, None, T)),
        (CellFault.VOLTAGE_IMPLAUSIBLE, (None, R, T)),
        (CellFault.RESISTANCE_IMPLAUSIBLE, (V, None, T)),
        (CellFault.TEMPERATURE_IMPLAUSIBLE, (V, R, None)),
        (CellFault.VOLTAGE_IMPLAUSIBLE | CellFault.TEMPERATURE_IMPLAUSIBLE, (None, R, None)),
    ],
)
def test_each_fault_hides_exactly_the_values_it_makes_untrustworthy(
    faults: CellFault, expected: tuple[int | None, int | None, int | None]
) -> None:
    assert served_cell_values(int(faults), V, R, T) == expected


def test_a_300_degree_sensor_fault_is_not_a_temperature() -> None:
    assert served_cell_values(int(CellFault.TEMPERATURE_IMPLAUSIBLE), V, R, 3000) == (V, R, None)
    # without the fault bit the value is served as it is: the string master decides plausibility
    assert served_cell_values(0, V, R, 3000) == (V, R, 3000)
