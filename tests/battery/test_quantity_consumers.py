"""Every consumer of the registry of quantities serves what the registry says: the Modbus map, the
MIB, the history, the JSON API and its OpenAPI description, the field bus and the domain messages.

Each test fails when one consumer writes a unit or a scale of its own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from battery.quantities import Level, Quantity, quantity
from protocols.fieldbus import device_maps as dm
from protocols.scada import modbus_map as mm
from protocols.scada import snmp_oids as so
from protocols.scada.snmp_rows import string_row, ups_row
from storage.history import schema
from storage.history.export_csv import CELL_HEADER, STRING_HEADER
from storage.history.scan_row import pack_scan, unpack_scan
from tests.factories import sample_string_status, sample_topology, sample_ups_status
from web.json_quantities import CELL_JSON, DISCHARGE_JSON, STRING_JSON, UPS_JSON
from web.openapi import openapi_document
from web.site_view import SiteView

# Where the domain messages carry each quantity. String and UPS values are floats in the unit;
# a string's cells are tuples of integers in the wire scale (one message per string per scan).
STATUS_ATTRIBUTE = {
    "string.voltage": "voltage_v",
    "string.current": "current_a",
    "string.soc": "soc_pct",
    "string.soh": "soh_pct",
    "string.balance": "balance_pct",
    "string.ambient_temperature": "ambient_c",
    "string.ambient_humidity": "humidity_pct",
    "string.runtime": "runtime_min",
    "string.insulation_resistance": "insulation_kohm",
    "ups.voltage": "voltage_v",
    "ups.current": "current_a",
    "ups.soc": "soc_pct",
    "ups.runtime": "runtime_min",
}
CELL_TUPLE = {
    "cell.voltage": "cell_voltage_mv",
    "cell.resistance": "cell_resistance_uohm",
    "cell.temperature": "cell_temperature_dc",
    "cell.soc": "cell_soc_pct",
    "cell.soh": "cell_soh_pct",
}
# What a name's suffix promises: (unit, counts per unit).
SUFFIX = {
    "v": ("V", 1),
    "a": ("A", 1),
    "pct": ("%", 1),
    "c": ("°C", 1),
    "mv": ("V", 1000),
    "uohm": ("mΩ", 1000),
    "dc": ("°C", 10),
    "min": ("min", 1),
    "kohm": ("kΩ", 1),
}


def _sample() -> tuple[Any, Any, Any]:
    t = sample_topology(cells=4)
    return t, sample_string_status(t, "s1"), sample_ups_status(t, "ups1")


@pytest.mark.parametrize(("key", "attribute"), [*STATUS_ATTRIBUTE.items(), *CELL_TUPLE.items()])
def test_the_domain_messages_carry_each_quantity_in_the_unit_their_names_say(key: str, attribute: str) -> None:
    q = quantity(key)
    unit, counts = SUFFIX[attribute.rsplit("_", 1)[1]]
    assert q.unit.removesuffix("RH") == unit  # "_pct" of a humidity is %RH
    # Floats are in the unit; integers count steps of the resolution (the wire scale).
    assert counts == (q.wire_scale if key in CELL_TUPLE else 1)


# -- Modbus TCP ------------------------------------------------------------------------------

NOT_QUANTITIES = {"", "s"}  # codes, counts, bit fields; UNIX seconds


def test_every_modbus_register_carrying_a_quantity_has_the_registry_unit_scale_and_meaning() -> None:
    for r in mm.REGISTERS:
        if r.unit in NOT_QUANTITIES:
            assert r.quantity is None, r.name
            continue
        q = r.quantity
        assert q is not None, f"register {r.name} serves {r.unit} without a quantity of the registry"
        assert (r.unit, r.scale, r.description) == (q.unit, str(q.resolution), q.description), r.name
        assert r.name.startswith(q.level.value + "_") and r.block.value == q.level.value, r.name
        low, high = q.wire_range()  # the register type holds the measuring range below its sentinel
        assert mm.decode(r.type, mm.encode(r.type, low)) == low and mm.decode(r.type, mm.encode(r.type, high)) == high


def test_modbus_serves_every_quantity_in_the_registry_scale() -> None:
    t, s, u = _sample()
    fresh = mm.Freshness(stale=False, last_fresh_timestamp=s.timestamp)
    values = mm.string_values(s, 1, 4, fresh, 0, 0, 1) | mm.ups_values(u, 2, fresh)
    served = [r for r in mm.REGISTERS if r.quantity is not None and r.block is not mm.Block.CELL]
    assert {r.quantity.key for r in served} == set(STATUS_ATTRIBUTE)  # type: ignore[union-attr]
    for r in served:
        q: Quantity = r.quantity  # type: ignore[assignment]
        value = getattr(s if q.level is Level.STRING else u, STATUS_ATTRIBUTE[q.key])
        assert values[r.name] == q.to_wire(value), r.name
        words = mm.encode(r.type, values[r.name])
        assert mm.decode(r.type, words) * float(q.resolution) == pytest.approx(value, abs=float(q.resolution) / 2)
    words = [0] * mm.string_unit_span(4)
    mm.pack_cells(s, False, 4, [0] * 4, words)
    for r in mm.registers_of(mm.Block.CELL):
        if r.quantity is not None:
            for i in range(4):
                base = mm.CELL_STRIDE * (i + 1) + r.address
                assert mm.decode(r.type, words[base : base + r.size]) == getattr(s, CELL_TUPLE[r.quantity.key])[i]


# -- SNMP ------------------------------------------------------------------------------------

SNMP_NOT_QUANTITIES = {"", "strings", "UPS", "alarms", "cells", "scans", "records", "seconds since 1970-01-01 UTC"}


def test_every_snmp_object_carrying_a_quantity_has_the_registry_units_range_and_meaning() -> None:
    for c in so.ALL_COLUMNS:
        if c.units in SNMP_NOT_QUANTITIES:
            assert c.quantity is None, c.name
            continue
        q = c.quantity
        assert q is not None, f"SNMP object {c.name} serves {c.units} without a quantity of the registry"
        assert c.units == q.wire_unit(ascii_only=True) and c.units.isascii(), c.name
        assert c.description.startswith(q.description) and q.range_text(ascii_only=True) in c.description, c.name
        if "(" in c.syntax:
            low, high = q.wire_range()
            assert c.syntax == f"Integer32 ({low}..{high})", c.name


def test_snmp_serves_every_string_and_ups_quantity_in_the_registry_scale() -> None:
    _, s, u = _sample()
    row = string_row(s, stale=False) | ups_row(u, stale=False)
    served = [c for c in so.ALL_COLUMNS if c.quantity is not None and c.quantity.level is not Level.CELL]
    assert {c.quantity.key for c in served} == set(STATUS_ATTRIBUTE)  # type: ignore[union-attr]
    for c in served:
        q: Quantity = c.quantity  # type: ignore[assignment]
        assert row[c.name] == q.to_wire(getattr(s if q.level is Level.STRING else u, STATUS_ATTRIBUTE[q.key])), c.name


# -- History ---------------------------------------------------------------------------------


def test_every_history_field_is_stored_in_the_registry_scale_and_shown_in_its_unit() -> None:
    _, s, _ = _sample()
    row = unpack_scan(pack_scan(s))
    for stored in schema.STRING_QUANTITIES.values():
        q = stored.quantity
        assert (stored.unit, stored.scale) == (q.unit, float(q.resolution))
        assert row.field(stored.field) == q.to_wire(getattr(s, STATUS_ATTRIBUTE[q.key])), stored.name
        assert f"{stored.name} [{q.unit_ascii}]" in STRING_HEADER
    for stored in schema.CELL_QUANTITIES.values():
        q = stored.quantity
        assert (stored.unit, stored.scale) == (q.unit, float(q.resolution))
        assert tuple(row.cells[schema.CELL_FIELDS.index(stored.field)]) == getattr(s, CELL_TUPLE[q.key])
        assert f"{stored.name} [{q.unit_ascii}]" in CELL_HEADER
    for name, q in schema.UPS_REGISTRY_QUANTITIES.items():  # derived from the strings' stored values
        string = schema.STRING_QUANTITIES[name].quantity
        assert (q.unit, q.resolution) == (string.unit, string.resolution)


def test_the_history_stores_string_soc_and_soh_in_whole_percent() -> None:
    _, s, _ = _sample()
    row = unpack_scan(pack_scan(s))
    assert (row.field("soc_pct"), row.field("soh_pct")) == (round(s.soc_pct), round(s.soh_pct))


# -- JSON API and OpenAPI ----------------------------------------------------------------------


def _properties(schema_: dict[str, Any], path: str = "") -> dict[str, dict[str, Any]]:
    """Every property of every schema, nested ones included, by dotted path."""
    out: dict[str, dict[str, Any]] = {}
    for name, prop in schema_.get("properties", {}).items():
        out[f"{path}{name}"] = prop
        out |= _properties(prop, f"{path}{name}.")
    return out


def test_every_openapi_quantity_property_has_the_registry_unit_and_description() -> None:
    schemas = openapi_document()["components"]["schemas"]
    found = 0
    for schema_name, s in schemas.items():
        for path, prop in _properties(s, f"{schema_name}.").items():
            if "x-quantity" not in prop:
                continue
            q = quantity(prop["x-quantity"])
            assert (prop["type"], prop["x-unit"], prop["x-resolution"]) == ("number", q.unit, str(q.resolution))
            assert f"in {q.unit}:" in prop["description"] and q.description in prop["description"], path
            found += 1
    tables = (("Ups", UPS_JSON), ("String", STRING_JSON), ("Cell", CELL_JSON), ("Discharge", DISCHARGE_JSON))
    for name, table in tables:
        props = schemas[name]["properties"]
        assert {n: props[n].get("x-quantity") for n in table} == {n: q.key for n, q in table.items()}
    assert found == sum(len(t) for _, t in tables) + 12  # + stored string (7) and cell (5)


def test_the_site_view_serves_exactly_the_described_properties_at_the_registry_resolution() -> None:
    from actors.messages.up import UpsUpdate

    t, s, u = _sample()
    view = SiteView(t, wall_clock=lambda: s.timestamp)
    view.apply(UpsUpdate(ups=u, strings=(s,)))
    schemas = openapi_document()["components"]["schemas"]
    bodies = {
        "Ups": view.ups_json("ups1"),
        "String": view.string_json("s1"),
        "Cells": view.cells_json("s1"),
        "Cell": view.cells_json("s1")["cells"][0],
        "Site": view.site_json(),
    }
    tables = {"Ups": UPS_JSON, "String": STRING_JSON, "Cell": CELL_JSON}
    for name, body in bodies.items():
        assert set(body) <= set(schemas[name]["properties"]), name
        for prop, q in tables.get(name, {}).items():
            assert body[prop] is not None and round(body[prop], q.decimals) == body[prop], (name, prop)
    assert bodies["String"]["voltage_v"] == STRING_JSON["voltage_v"].rounded(s.voltage_v)
    assert bodies["Cell"]["resistance_mohm"] == s.cell_resistance_uohm[0] / 1000


# -- Field bus ---------------------------------------------------------------------------------

_PREFIX = {"m": Decimal("0.001"), "µ": Decimal("0.000001")}


def _one_count(amount: Decimal, unit: str) -> tuple[Decimal, str]:
    """A count's worth in the unit without prefix: (1, "mV") -> (0.001, "V")."""
    if len(unit) > 1 and unit[0] in _PREFIX and unit[1:] in ("V", "A", "Ω"):
        return amount * _PREFIX[unit[0]], unit[1:]
    return amount, unit


@pytest.mark.parametrize(
    ("device", "field", "key"),
    [
        (dm.STRING_MASTER, "string_voltage", "string.voltage"),
        (dm.STRING_MASTER, "string_current", "string.current"),
        (dm.STRING_MASTER, "bm_th_ambient_temperature", "string.ambient_temperature"),
        (dm.STRING_MASTER, "bm_th_ambient_humidity", "string.ambient_humidity"),
        (dm.STRING_MASTER, "bm_gs_insulation_resistance", "string.insulation_resistance"),
    ],
)
def test_the_field_bus_reads_each_string_quantity_in_the_registry_wire_scale(
    device: dm.DeviceMap, field: str, key: str
) -> None:
    """The poller passes the counts through to StringScan: the devices' scale must be the registry's."""
    amount, unit = device.field(field).scale.split(" ", 1)
    q = quantity(key)
    assert _one_count(Decimal(amount), unit) == _one_count(q.resolution, q.unit)


@pytest.mark.parametrize(
    ("field", "key"),
    [
        ("cell_voltage", "cell.voltage"),
        ("cell_resistance", "cell.resistance"),
        ("cell_temperature", "cell.temperature"),
    ],
)
def test_the_field_bus_reads_each_cell_quantity_in_the_registry_wire_scale(field: str, key: str) -> None:
    amount, unit = next(f for f in dm.CELL_FIELDS if f.name == field).scale.split(" ", 1)
    q = quantity(key)
    assert _one_count(Decimal(amount), unit) == _one_count(q.resolution, q.unit)
