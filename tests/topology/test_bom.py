"""`btms bom`: seed 003's ordering rules and the power-supply budget, on real topology files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import REPO as ROOT
from topology.bom import (
    NOMINAL_POWER_W,
    BillOfMaterials,
    bill_of_materials,
    format_bill_of_materials,
    supplies_needed,
)
from topology.loader import load_topology

FIXTURES = ROOT / "tests" / "data" / "topologies"


def counts(bom: BillOfMaterials) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in bom.lines:
        out[line.code] = out.get(line.code, 0) + line.quantity
    return out


def test_demo_site_needs_one_of_each_basic_device_per_string() -> None:
    bom = bill_of_materials(load_topology(ROOT / "topology.yaml"))
    assert counts(bom) == {
        "BM-GW": 1,
        "BM-SS": 4,
        "BM-HS": 4,
        "BM-CS": 160,  # 4 strings x 40 batteries
        "PS-60-24": 1,
        "PS-30-12": 1,
        "BM-MC": 1,
        "BM-LC": 1,
        "BM-TH": 4,
    }
    cs = [line for line in bom.lines if line.code == "BM-CS"]
    assert [line.description for line in cs] == ["BTMS Cell sensor for 12 V batteries"]
    budget_24, budget_12 = bom.budgets
    expected_24 = 4 * (NOMINAL_POWER_W["BM-SS"] + NOMINAL_POWER_W["BM-HS"] + NOMINAL_POWER_W["BM-TH"]) + (
        NOMINAL_POWER_W["BM-MC"] + NOMINAL_POWER_W["BM-LC"]
    )
    assert budget_24.supply == "PS-60-24" and budget_24.total_w == pytest.approx(expected_24)
    assert budget_24.headroom_w == pytest.approx(60 * 0.8 - expected_24)
    assert budget_12.supply == "PS-30-12" and budget_12.total_w == pytest.approx(NOMINAL_POWER_W["BM-GW"])


def test_full_32_string_site() -> None:
    bom = bill_of_materials(load_topology(FIXTURES / "site_32_strings.yaml"))
    assert counts(bom) == {
        "BM-GW": 1,
        "BM-SS": 32,
        "BM-HS": 32,
        "BM-CS": 16 * 40 + 16 * 120,
        "PS-60-24": 3,  # 117.2 W at the nominal figures: more than two supplies loaded to 80 %
        "PS-30-12": 1,
        "BM-MC": 1,
        "BM-LC": 4,
        "BM-TH": 32,
        "BM-GS": 20,
        "COM-PGM": 2,  # 1 per up to 16 BM-GS
    }
    # Cell sensors are typed by battery voltage, hall sensors by range.
    typed = {(line.code, line.description): line.quantity for line in bom.lines if line.code in ("BM-CS", "BM-HS")}
    assert typed == {
        ("BM-HS", "BTMS Hall sensor, 500 A range"): 16,
        ("BM-HS", "BTMS Hall sensor, 1000 A range"): 16,
        ("BM-CS", "BTMS Cell sensor for 2 V batteries"): 1920,
        ("BM-CS", "BTMS Cell sensor for 12 V batteries"): 640,
    }
    budget_24 = bom.budgets[0]
    assert budget_24.total_w == pytest.approx(117.2)
    assert budget_24.count == 3 and budget_24.headroom_w == pytest.approx(3 * 48 - 117.2)
    # Lines follow seed 003's table: basic devices first, then the optional ones.
    assert [line.code for line in bom.lines][:4] == ["BM-GW", "BM-SS", "BM-HS", "BM-HS"]


def test_sensors_that_need_a_master_controller_add_one(tmp_path: Path) -> None:
    text = (
        (FIXTURES / "minimal.yaml")
        .read_text()
        .replace(
            "hall_range_a: 1000", "hall_range_a: 1000\n        climate_sensor: true\n        insulation_sensor: true"
        )
    )
    path = tmp_path / "topology.yaml"
    path.write_text(text)
    bom = bill_of_materials(load_topology(path))
    got = counts(bom)
    assert (got["BM-MC"], got["BM-TH"], got["BM-GS"], got["COM-PGM"]) == (1, 1, 1, 1)
    assert "BM-LC" not in got
    mc = next(line for line in bom.lines if line.code == "BM-MC")
    assert mc.why == "1 per gateway: required by BM-TH, required by BM-GS"


def test_minimal_site_has_no_optional_devices() -> None:
    got = counts(bill_of_materials(load_topology(FIXTURES / "minimal.yaml")))
    assert got == {"BM-GW": 1, "BM-SS": 1, "BM-HS": 1, "BM-CS": 120, "PS-60-24": 1, "PS-30-12": 1}


@pytest.mark.parametrize(
    ("load_w", "rated_w", "needed"),
    [(0.0, 60, 1), (48.0, 60, 1), (48.01, 60, 2), (96.0, 60, 2), (144.1, 60, 4), (24.0, 30, 1)],
)
def test_supplies_are_loaded_to_at_most_80_percent(load_w: float, rated_w: float, needed: int) -> None:
    assert supplies_needed(load_w, rated_w) == needed


def test_a_nonsense_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="bad supply budget"):
        supplies_needed(-1.0, 60)


def test_the_printed_bill_names_every_line_and_the_budget() -> None:
    bom = bill_of_materials(load_topology(FIXTURES / "site_32_strings.yaml"))
    text = format_bill_of_materials(bom)
    table = text.splitlines()
    for line in bom.lines:
        row = next(r for r in table if r.startswith(line.code) and line.description in r)
        assert f" {line.quantity} " in row and line.why in row
    assert "total                       117.2 W" in text
    assert "PS-60-24 needed: 3 (usable 144.0 W of 180 W rated); headroom 26.8 W" in text
    assert "PS-30-12 needed: 1" in text
    assert "assumptions" in text
