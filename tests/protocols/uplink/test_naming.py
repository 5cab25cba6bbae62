from __future__ import annotations

from dataclasses import replace

from battery.codes import CellFault, Health
from battery.quantities import Level, of_level
from protocols.uplink.naming import (
    cell_metric_name,
    cell_values,
    string_birth_metrics,
    string_device_id,
    string_metrics,
    ups_birth_metrics,
)
from protocols.uplink.payload import DataType
from tests.factories import sample_string_status, sample_topology, sample_ups_status


def test_device_ids_and_cell_names():
    assert string_device_id("UPS-A", "A1") == "UPS-A:A1"
    assert cell_metric_name("cell.voltage", 17) == "cell.voltage/17"


def test_a_string_birth_names_every_registry_quantity_and_every_cell_with_its_unit():
    topology = sample_topology(upses=1, strings_per_ups=1, cells=3)
    config = topology.strings[0]
    birth = {m.name: m for m in string_birth_metrics(config, None, 1)}
    for q in of_level(Level.STRING):
        assert birth[q.key].datatype is DataType.DOUBLE and ("engUnit", q.unit) in birth[q.key].properties
    for q in of_level(Level.CELL):
        assert {cell_metric_name(q.key, n) for n in (1, 2, 3)} <= set(birth)
    assert all(m.value is None for m in birth.values())
    status = sample_string_status(topology, config.id)
    live = {m.name: m for m in string_birth_metrics(config, status, 1)}
    assert set(live) == set(birth)


def test_string_values_are_in_the_registry_unit_rounded_to_its_resolution():
    topology = sample_topology(upses=1, strings_per_ups=1, cells=2)
    status = sample_string_status(topology, topology.strings[0].id)
    values = {m.name: m.value for m in string_metrics(status)}
    assert values["string.voltage"] == round(status.voltage_v, 2)
    assert values["string.health"] == "OK"
    cells = cell_values(status)
    assert cells["cell.voltage/1"] == status.cell_voltage_mv[0] / 1000
    assert cells["cell.temperature/2"] == status.cell_temperature_dc[1] / 10


def test_a_cell_that_did_not_answer_is_null_not_its_last_numbers():
    topology = sample_topology(upses=1, strings_per_ups=1, cells=2)
    status = sample_string_status(topology, topology.strings[0].id)
    faults = (int(CellFault.NO_RESPONSE), 0)
    cells = cell_values(replace(status, cell_faults=faults, cell_health=(int(Health.STALE), int(Health.OK))))
    assert cells["cell.voltage/1"] is None and cells["cell.soc/1"] is None
    assert cells["cell.health/1"] == "STALE"
    assert cells["cell.voltage/2"] is not None


def test_a_ups_birth_before_any_status_is_all_null():
    topology = sample_topology(upses=1, strings_per_ups=1)
    assert {m.name for m in ups_birth_metrics(None, 1)} == {"ups.voltage", "ups.current", "ups.soc", "ups.health"}
    live = {m.name: m.value for m in ups_birth_metrics(sample_ups_status(topology, topology.upses[0].id), 1)}
    assert live["ups.health"] == "OK"
