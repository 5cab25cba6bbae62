"""The registry of quantities: the product sheet's resolutions, lookups that fail at import by
name, and the generated docs/quantities.md."""

from __future__ import annotations

import importlib.util
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from battery import quantities
from battery.plausibility import VOLTAGE_RANGE_MV
from battery.quantities import QUANTITIES, Level, Quantity, quantity
from btms.quantities_doc import render
from tests.support import REPO

# The product sheet's resolution of every quantity it lists (seed 000), in the registry's unit.
PRODUCT_SHEET = {
    "cell.voltage": ("V", "0.001"),
    "cell.resistance": ("mΩ", "0.001"),
    "cell.temperature": ("°C", "0.1"),
    "cell.soc": ("%", "1"),
    "cell.soh": ("%", "1"),
    "string.voltage": ("V", "0.01"),
    "string.current": ("A", "0.01"),
    "string.soc": ("%", "1"),
    "string.balance": ("%", "0.01"),
    "string.ambient_temperature": ("°C", "0.1"),
    "string.ambient_humidity": ("%RH", "0.1"),
}


@pytest.mark.parametrize("key", sorted(PRODUCT_SHEET))
def test_every_quantity_of_the_product_sheet_has_its_unit_and_resolution(key: str) -> None:
    q = quantity(key)
    unit, resolution = PRODUCT_SHEET[key]
    assert (q.unit, q.resolution) == (unit, Decimal(resolution))
    assert q.wire_scale * q.resolution == 1


def test_the_registry_is_one_table_of_unique_keys_with_ascii_text() -> None:
    assert len({q.key for q in QUANTITIES}) == len(QUANTITIES)
    for q in QUANTITIES:
        assert q.key.split(".")[0] == q.level.value
        assert q.unit_ascii.isascii() and q.description.isascii() and '"' not in q.description  # MIB text
        assert q.minimum < q.maximum


def test_ups_quantities_have_the_unit_and_resolution_of_the_string_quantity_they_aggregate() -> None:
    for q in quantities.of_level(Level.UPS):
        s = quantity("string." + q.key.split(".")[1])
        assert (q.unit, q.resolution) == (s.unit, s.resolution)


def test_counts_round_trip_at_the_resolution() -> None:
    v = quantity("string.voltage")
    assert v.to_wire(53.254) == 5325 and v.from_wire(5325) == 53.25 and v.rounded(53.254) == 53.25
    assert v.to_wire(None) is None and v.from_wire(None) is None
    assert quantity("cell.resistance").wire_unit(ascii_only=True) == "0.001 mOhm"
    assert quantity("string.soc").wire_unit() == "%" and quantity("string.soc").decimals == 0


def test_a_quantity_that_is_not_1_over_n_of_its_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="string.odd: resolution 0.3 is not 1/n"):
        Quantity("string.odd", "Odd", "V", "V", Decimal("0.3"), 0, 1, "odd")
    with pytest.raises(ValueError, match="'volts' is not '<cell|string|ups|site>.<name>'"):
        Quantity("volts", "Odd", "V", "V", Decimal("1"), 0, 1, "odd")


def test_an_unknown_key_raises_a_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match=r"no quantity 'string\.voltge' in battery/quantities.py \(known: cell\.voltage"):
        quantity("string.voltge")


# Each consumer resolves its keys at import; one key it uses, removed from the registry, must stop
# its import with a KeyError that names that key (not a failure later, when a client asks).
CONSUMERS = [
    ("battery/plausibility.py", "cell.resistance"),
    ("battery/string_values.py", "string.ambient_humidity"),
    ("topology/rules.py", "string.current"),
    ("storage/history/schema.py", "string.soc"),
    ("protocols/scada/modbus_map.py", "string.soh"),
    ("protocols/scada/snmp_oids.py", "cell.temperature"),
    ("web/json_quantities.py", "string.balance"),
]


def import_fresh(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a module's file as a new module (its imports are the loaded ones), as an import would."""
    name = f"_fresh_{Path(path).stem}"
    spec = importlib.util.spec_from_file_location(name, REPO / path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)  # type: ignore[union-attr]


@pytest.mark.parametrize(("path", "key"), CONSUMERS)
def test_a_consumer_fails_at_import_naming_a_quantity_missing_from_the_registry(
    path: str, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(quantities._BY_KEY, key)
    with pytest.raises(KeyError, match=f"no quantity '{key}'"):
        import_fresh(path, monkeypatch)


@pytest.mark.parametrize(("path", "key"), CONSUMERS)
def test_the_same_fresh_import_succeeds_with_the_whole_registry(
    path: str, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test above fails for the missing key, not for loading a module afresh."""
    import_fresh(path, monkeypatch)


def test_the_voltage_range_of_every_battery_type_lies_in_the_cell_voltage_range() -> None:
    low, high = quantity("cell.voltage").wire_range()
    assert all(low <= lo < hi <= high for lo, hi in VOLTAGE_RANGE_MV.values())
    lows, highs = zip(*VOLTAGE_RANGE_MV.values(), strict=True)
    assert (low, high) == (min(lows), max(highs))


def test_docs_quantities_md_is_generated_from_the_registry() -> None:
    doc = (REPO / "docs" / "quantities.md").read_text(encoding="utf-8")
    assert doc == render(), "docs/quantities.md is stale: run python scripts/gen_quantities_doc.py"
    for q in QUANTITIES:
        assert f"| `{q.key}` | {q.label} | {q.unit} |" in doc
