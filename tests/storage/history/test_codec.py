"""Pure encoding: every transform must give back exactly what went in."""

from __future__ import annotations

import random
from array import array

import pytest

from battery.codes import CellFault, Health
from battery.plausibility import cell_answered
from storage.history import codec
from storage.history.compactor import presence_mask
from storage.history.scan_row import PayloadError, pack_scan, unpack_scan
from tests.factories import make_status


@pytest.mark.parametrize("width", [1, 2, 4, 8])
def test_delta_round_trip_any_values(width: int) -> None:
    rng = random.Random(width)
    data = bytes(rng.randrange(256) for _ in range(width * 257))
    assert codec.delta_decode(codec.delta_encode(data, width), width) == data


def test_delta_of_small_steps_leaves_high_bytes_zero() -> None:
    values = array("i", [13500, 13501, 13499, 13500, 13600])
    lanes = codec.from_lanes(codec.delta_encode(values.tobytes()))
    assert list(lanes) == [13500 + 128, 1 + 128, -2 + 128, 1 + 128, 100 + 128]


def test_negative_and_extreme_values_survive() -> None:
    values = [-(2**31), 2**31 - 1, 0, -1, 1, -300]
    blob = codec.pack_series([codec.to_lanes(values), codec.to_lanes(list(reversed(values)))])
    a, b = codec.unpack_series(blob, 2)
    assert list(codec.from_lanes(a)) == values
    assert list(codec.from_lanes(b)) == list(reversed(values))


def test_shuffle_round_trip_and_bad_length() -> None:
    data = bytes(range(40))
    assert codec.unshuffle(codec.shuffle(data)) == data
    assert codec.shuffle(data)[:10] == bytes(range(0, 40, 4))
    with pytest.raises(ValueError, match="multiple of the lane width"):
        codec.shuffle(b"abc")


def test_noisy_series_compresses_under_a_quarter_byte_per_value() -> None:
    rng = random.Random(1)
    n = 8640
    cols = [array("i", [base + rng.randint(-1, 1) for _ in range(n)]).tobytes() for base in (13500, 4200, 250)]
    cols += [array("i", [v] * n).tobytes() for v in (100, 98, 1, 0)]
    blob = codec.pack_series(cols)
    assert codec.unpack_series(blob, 7) == cols
    assert len(blob) / (5 * n) < 0.25


def test_scan_row_round_trip() -> None:
    st = make_status(cells=5, no_response=(3,))
    row = unpack_scan(pack_scan(st))
    assert row.cell_count == 5
    assert list(row.cells[0]) == list(st.cell_voltage_mv)
    assert list(row.cells[1]) == [4001, 4002, 4003, 4004, 4005]
    assert row.field("voltage_cv") == 2710 and row.field("current_ca") == 20
    assert row.field("humidity_dpct") == -(2**31)  # absent, not 0
    assert list(row.cells[6]) == [0, 0, 1, 0, 0]


def test_stale_string_is_stored_without_cells() -> None:
    row = unpack_scan(pack_scan(make_status(stale=True)))
    assert row.string_stale and row.cell_count == 0 and row.field("health") == Health.STALE


def test_mismatched_cell_tuples_are_named() -> None:
    st = make_status(cells=3)
    bad = st.__class__(**{**st.__dict__, "cell_soc_pct": (1, 2)})
    with pytest.raises(ValueError, match="cell_soc_pct|soc_pct has 2 cells"):
        pack_scan(bad)


def test_unknown_payload_format() -> None:
    with pytest.raises(PayloadError, match="unknown scan payload format"):
        unpack_scan(b"\x09abc")


def test_the_presence_mask_is_the_servers_did_the_cell_answer_rule() -> None:
    health = array("i", [Health.OK, Health.ERROR, Health.STALE, Health.OK, Health.OK, Health.DISABLED])
    faults = array("i", [0, CellFault.TEMPERATURE_IMPLAUSIBLE, 0, CellFault.NO_RESPONSE, CellFault.OPEN_CIRCUIT, 0])
    expected = bytes(cell_answered(h, f) for h, f in zip(health, faults, strict=True))
    assert presence_mask(health, faults) == expected == bytes([1, 1, 0, 0, 1, 1])
