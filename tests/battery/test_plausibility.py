"""Whether a cell answered: the one test every server and the history apply to a cell."""

from __future__ import annotations

from battery.codes import CellFault, Health
from battery.plausibility import cell_answered


def test_a_cell_answered_unless_it_is_stale_or_flagged_no_response() -> None:
    assert cell_answered(int(Health.OK), 0)
    assert cell_answered(int(Health.ERROR), int(CellFault.TEMPERATURE_IMPLAUSIBLE))  # answered, implausibly
    assert not cell_answered(int(Health.STALE), 0)
    assert not cell_answered(int(Health.OK), int(CellFault.NO_RESPONSE | CellFault.OPEN_CIRCUIT))
