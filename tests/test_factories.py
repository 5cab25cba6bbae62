"""Sample sites and statuses for the SCADA/NMS tests and bench/scada.py (plus their own checks).

Statuses are built the way the string master builds them: tuples of scaled integers per cell.
"""

from __future__ import annotations

from tests.factories import sample_string_status, sample_topology


def test_sample_topology_numbers_strings_across_upses() -> None:
    t = sample_topology(upses=2, strings_per_ups=3, cells=5)
    assert [s.index for s in t.strings] == [1, 2, 3, 4, 5, 6]
    assert t.string("s4").ups_id == "ups2"


def test_sample_string_status_has_one_value_per_cell() -> None:
    t = sample_topology(cells=7)
    s = sample_string_status(t, "s2")
    assert len(s.cell_voltage_mv) == len(s.cell_resistance_uohm) == len(s.cell_health) == 7
    assert s.current_a < 0 and min(s.cell_temperature_dc) < 0 and max(s.cell_resistance_uohm) > 0xFFFF
