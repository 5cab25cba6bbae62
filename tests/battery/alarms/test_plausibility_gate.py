"""An implausible or absent value never feeds a limit alarm: it raises "Sensor fault" instead.

The rule that decides which of a cell's values are measurements is the one the servers use
(web, Modbus, SNMP show such a value as null), so an alarm never carries a number the operator
cannot see, such as the cell sensor's 65535 over-range resistance of an open cell.
"""

from __future__ import annotations

import itertools

import pytest
from thespian.actors import ActorSystem

from actors.messages.down import InitCellBank
from actors.messages.up import CellBatchResult
from actors.string.cell_bank import CellBank
from battery.alarms import (
    CELL_ALARMS_CLEAR,
    AlarmKind,
    cell_limits_for,
    evaluate_cell,
)
from battery.codes import CellFault
from battery.readings import CellBatch
from battery.site import BatteryType
from protocols.scada.served_values import served_cell_values

CELLS = 4
OPEN_CELL_RESISTANCE_UOHM = 65535  # what the sensor reports when no current flows through the cell


@pytest.fixture
def bank():
    asys = ActorSystem("simpleSystemBase", transientUnique=True, logDefs=False)
    address = asys.createActor(CellBank)
    battery = BatteryType(12, 100.0, CELLS)
    asys.ask(address, InitCellBank(battery, (), cell_limits_for(battery)), 5)
    yield asys, address
    asys.shutdown()


def test_an_open_cell_raises_sensor_fault_and_voltage_low_never_resistance_high(bank):
    asys, address = bank
    raised: list[tuple[int, AlarmKind, float | None]] = []
    for k in range(25):  # 25 s at one scan a second: well past every 10 s delay
        batch = CellBatch(
            k,
            1_700_000_000.0 + k,
            0,
            (True,) * CELLS,
            (13600, 120, 13610, 13600),
            (4000, OPEN_CELL_RESISTANCE_UOHM, 3900, 4000),
            (250, 251, 249, 250),
        )
        result = asys.ask(address, batch, 5)
        assert isinstance(result, CellBatchResult)
        raised += [(cell, t.kind, t.value) for cell, t in result.transitions if t.raised]
    kinds = {(cell, kind) for cell, kind, _ in raised}
    assert (2, AlarmKind.CELL_RESISTANCE_HIGH) not in kinds, raised
    assert (2, AlarmKind.SENSOR_FAULT) in kinds  # the resistance is not measured: say so
    assert (2, AlarmKind.CELL_VOLTAGE_LOW) in kinds  # ~0 V is a real reading of an open cell
    assert all(value != OPEN_CELL_RESISTANCE_UOHM for _, _, value in raised)
    assert {cell for cell, _ in kinds} == {2}


_READING_FAULTS = (
    CellFault.OPEN_CIRCUIT,
    CellFault.VOLTAGE_IMPLAUSIBLE,
    CellFault.RESISTANCE_IMPLAUSIBLE,
    CellFault.TEMPERATURE_IMPLAUSIBLE,
)
_VALUE_OF = {AlarmKind.CELL_VOLTAGE_HIGH: 0, AlarmKind.CELL_RESISTANCE_HIGH: 1, AlarmKind.CELL_TEMPERATURE_HIGH: 2}


@pytest.mark.parametrize(
    "faults",
    [
        int(sum(c, CellFault.NONE))
        for n in range(len(_READING_FAULTS) + 1)
        for c in itertools.combinations(_READING_FAULTS, n)
    ],
)
def test_a_limit_sees_exactly_the_values_the_servers_show(faults):
    """Every value beyond its high limit: what is raised is what is served; what is withheld is a sensor fault."""
    limits = cell_limits_for(BatteryType(12, 100.0, CELLS))
    reading = (16000, OPEN_CELL_RESISTANCE_UOHM, 3000)  # mV, µΩ, 0.1 °C: all beyond their limits
    state, events = CELL_ALARMS_CLEAR, []
    for t in range(25):
        state, ev = evaluate_cell(
            state,
            limits,
            responded=True,
            faults=faults,
            voltage_mv=reading[0],
            resistance_uohm=reading[1],
            temperature_dc=reading[2],
            soc_pct=95,
            soh_pct=98,
            now=float(t),
        )
        events += ev
    served = served_cell_values(faults, *reading)
    limit_kinds = {e.kind for e in events} & set(_VALUE_OF)
    assert limit_kinds == {kind for kind, i in _VALUE_OF.items() if served[i] is not None}, CellFault(faults)
    assert (AlarmKind.SENSOR_FAULT in state.active_kinds()) == (None in served), CellFault(faults)
