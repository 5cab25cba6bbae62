"""The cell bank's round: every cell's status every scan, though cells answer only on change."""

from __future__ import annotations

import pytest
from thespian.actors import ActorSystem

from actors.messages.down import InitCellBank
from actors.messages.up import CellBatchResult
from actors.string.cell_bank import CellBank
from battery.alarms import cell_limits_for_string
from battery.codes import CellFault, Health
from battery.readings import CellBatch
from battery.site import BatteryType
from tests.support import small_topology

CELLS = 4


@pytest.fixture
def bank(tmp_path):
    asys = ActorSystem("simpleSystemBase", transientUnique=True, logDefs=False)
    string = small_topology(tmp_path, upses=1, strings_per_ups=1, cells=CELLS).strings[0]
    address = asys.createActor(CellBank)
    asys.ask(address, InitCellBank(BatteryType(12, 100.0, CELLS), (), cell_limits_for_string(string)), 5)
    yield asys, address
    asys.shutdown()


def batch(scan_no: int, voltages=(13600, 13590, 13610, 13600)) -> CellBatch:
    return CellBatch(
        scan_no,
        1_700_000_000.0 + scan_no,
        20,
        (True,) * CELLS,
        tuple(voltages),
        (4000, 4100, 3900, 4000),
        (250, 251, 249, 250),
    )


def round_of(bank, message) -> CellBatchResult:
    asys, address = bank
    result = asys.ask(address, message, 5)
    assert isinstance(result, CellBatchResult)
    return result


def test_unchanged_cells_still_give_their_status_and_a_change_is_seen(bank):
    first = round_of(bank, batch(1))
    for scan_no in (2, 3):  # nothing changes: the cells do not answer, the bank keeps their statuses
        again = round_of(bank, batch(scan_no))
        assert [s.index for s in again.statuses] == [1, 2, 3, 4]
        assert again.statuses == first.statuses
    opened = round_of(bank, batch(4, voltages=(13600, 0, 13610, 13600)))  # battery 2 open
    assert opened.statuses[1].faults & CellFault.OPEN_CIRCUIT
    assert [s.health for s in opened.statuses] == [Health.OK, Health.ERROR, Health.OK, Health.OK]
    assert opened.restarted == ()


def test_a_cell_that_cannot_evaluate_its_reading_is_recreated_within_the_scan(bank):
    round_of(bank, batch(1))
    broken = round_of(bank, batch(2, voltages=(13600, None, 13610, 13600)))  # not a number: it raises
    assert broken.restarted == (2,)
    assert broken.statuses[1].faults == CellFault.NO_RESPONSE and broken.statuses[1].health == Health.STALE
    assert [s.health for i, s in enumerate(broken.statuses) if i != 1] == [Health.OK] * 3
    healed = round_of(bank, batch(3))
    assert healed.restarted == () and healed.statuses[1].health == Health.OK


def test_a_discharge_after_held_float_scans_is_counted_from_its_first_scan(bank):
    """On float a cell steps its estimators once per judging period and holds the readings in
    between (battery/analytics step_cell_paced); a discharge that follows is counted from its
    first scan, on every scan, whatever each cell's phase."""
    float_statuses = [round_of(bank, batch(n)).statuses for n in range(1, 26)]
    assert all(s.snapshot.soc_pct == 100.0 for scan in float_statuses for s in scan)
    per_scan_pct = 50.0 / 3600.0 / 100.0 * 100.0  # 50 A for 1 s of 100 Ah
    previous = [s.snapshot.soc_pct for s in float_statuses[-1]]
    for n in range(26, 31):  # 0.5 C: 12.2 V per battery, far from float
        discharge = CellBatch(
            n, 1_700_000_000.0 + n, -5000, (True,) * CELLS, (12200,) * CELLS, (4000,) * CELLS, (250,) * CELLS
        )
        socs = [s.snapshot.soc_pct for s in round_of(bank, discharge).statuses]
        for soc, before in zip(socs, previous, strict=True):
            assert before - soc == pytest.approx(per_scan_pct, rel=1e-6)  # this second's charge, no more
        previous = socs
