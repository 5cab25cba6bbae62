"""Register maps, codec, wire timing and docs of the field bus (protocols/fieldbus/device_maps.py & co)."""

from __future__ import annotations

import pytest

from battery.readings import StringScan
from protocols.fieldbus import device_maps as dm
from protocols.fieldbus.fieldbus_doc import render
from protocols.fieldbus.rtu_codec import (
    DecodeError,
    decode_identity,
    decode_io_module,
    decode_master_controller,
    decode_string_master,
    decode_string_master_extras,
    encode_io_module,
    encode_master_controller,
    encode_string_master,
    from_int16,
    from_long,
    to_int16,
    to_long,
)
from protocols.fieldbus.rtu_timing import bits_per_char, gap_s, reads_wire_time_s
from tests.support import REPO as ROOT


def test_type_codes_are_distinct_and_spell_the_order_code():
    codes = [m.type_code for m in dm.ALL_MAPS]
    assert len(set(codes)) == len(codes)
    assert dm.STRING_MASTER.type_code == 0x5353  # "SS"
    assert dm.KIND_BY_TYPE_CODE[0x4C43] is dm.DeviceKind.IO_MODULE  # "LC"


@pytest.mark.parametrize("device_map", dm.ALL_MAPS, ids=lambda m: m.kind.value)
def test_every_map_starts_with_identity_and_has_no_overlaps(device_map):
    assert [f.name for f in device_map.registers[:2]] == ["device_type", "firmware_version"]
    used: set[int] = set()
    for f in device_map.registers:
        span = set(range(f.address, f.address + f.words))
        assert not span & used, f"{device_map.kind.value}: {f.name} overlaps"
        assert max(span) < device_map.register_count
        used |= span


def test_sub_device_windows_sit_inside_the_string_master_header():
    for base, sub in dm.SUB_DEVICE_WINDOWS:
        assert base + sub.register_count <= dm.CELL_BLOCK_START
        relayed = dm.STRING_MASTER.field(f"{sub.kind.value.lower().replace('-', '_')}_device_type")
        assert relayed.address == base


def test_read_plan_uses_the_fewest_requests():
    assert dm.read_plan(dm.string_master_register_count(120)) == tuple((s, 125) for s in range(0, 625, 125))
    assert dm.read_plan(dm.string_master_register_count(10)) == ((0, 75),)
    assert dm.read_plan(130) == ((0, 125), (125, 5))
    with pytest.raises(ValueError, match="at least 1"):
        dm.read_plan(0)
    with pytest.raises(ValueError, match="cell count 121"):
        dm.string_master_register_count(121)


def test_word_helpers_round_trip_signed_values():
    assert from_long(-1, signed=True) == (0xFFFF, 0xFFFF)
    assert to_long(0xFFFF, 0xFFFE, signed=True) == -2
    assert to_long(*from_long(80_000, signed=False), signed=False) == 80_000
    assert to_int16(from_int16(-3000)) == -3000
    with pytest.raises(ValueError, match="signed 16-bit"):
        from_int16(40_000)
    with pytest.raises(ValueError, match="unsigned 32-bit"):
        from_long(-5, signed=False)


def _scan(**overrides) -> StringScan:
    values = dict(
        string_id="A1",
        scan_no=0,
        timestamp=0.0,
        responded=True,
        voltage_cv=27_000,
        current_ca=-12_345,
        hall_ok=False,
        ambient_dc=-52,
        humidity_dpct=455,
        relay_closed=False,
        cell_voltage_mv=(2250, 0, 13_600),
        cell_resistance_uohm=(350, 70_000, 5_000_000),
        cell_temperature_dc=(251, -200, 3000),
        cell_responded=(True, False, True),
    )
    values.update(overrides)
    return StringScan(**values)


def test_string_master_round_trip_keeps_every_value():
    extra = {"insulation_kohm": 800, "cell_balancing": (False, False, True)}  # BM-GS and the BM-CS bit
    scan = _scan(**extra)
    regs = encode_string_master(scan, hall_range_a=500, nominal_voltage=12)
    assert len(regs) == dm.string_master_register_count(3)
    assert regs[dm.cell_register(3, 4)] & dm.CELL_STATUS_BALANCING
    back = decode_string_master("A1", 7, 123.5, regs)
    assert back == _scan(scan_no=7, timestamp=123.5, **extra)
    extras = decode_string_master_extras(regs, "test")
    assert (extras.cell_count, extras.nominal_voltage, extras.hall_range_a) == (3, 12, 500)
    assert extras.climate_fitted and extras.insulation_fitted and extras.insulation_kohm == 800


def test_string_without_climate_sensor_decodes_to_none():
    regs = encode_string_master(_scan(ambient_dc=None, humidity_dpct=None), hall_range_a=100)
    back = decode_string_master("A1", 1, 0.0, regs)
    assert back.ambient_dc is None and back.humidity_dpct is None
    assert regs[dm.CLIMATE_WINDOW] == 0  # the window says "not fitted"


def test_decode_names_the_string_when_the_device_is_not_a_string_master():
    regs = encode_io_module([False] * 8, [True] + [False] * 7) + [0] * 30
    with pytest.raises(DecodeError, match="string A1: device type 0x4C43 is not a BM-SS"):
        decode_string_master("A1", 1, 0.0, regs)


def test_encode_refuses_ragged_cell_tuples():
    with pytest.raises(ValueError, match="cell_resistance_uohm has 2 cells"):
        encode_string_master(_scan(cell_resistance_uohm=(1, 2)), hall_range_a=1)


def test_io_module_and_master_controller_round_trip():
    inputs = [False, True] + [False] * 6
    outputs = [True] + [False] * 6 + [True]
    state = decode_io_module(encode_io_module(inputs, outputs), "lc1")
    assert state.inputs == tuple(inputs) and state.outputs == tuple(outputs)
    assert decode_master_controller(encode_master_controller((101, 102)), "mc") == (101, 102)
    ident = decode_identity(encode_master_controller(()))
    assert ident.kind is dm.DeviceKind.MASTER_CONTROLLER and ident.firmware == "1.0"


def test_wire_time_matches_the_hand_calculation():
    # 5 x (8-byte request + 255-byte response) x 10 bits / 115200 + 10 gaps of 1.75 ms
    assert reads_wire_time_s([125] * 5, 115200) == pytest.approx(5 * 263 * 10 / 115200 + 10 * 0.00175)
    assert gap_s(9600) == pytest.approx(3.5 * 10 / 9600)
    assert bits_per_char("E", 1) == 11
    with pytest.raises(ValueError, match="parity 'X'"):
        bits_per_char("X")


def test_docs_fieldbus_md_is_generated_from_the_maps():
    doc = ROOT / "docs" / "fieldbus.md"
    assert doc.read_text(encoding="utf-8") == render(), "stale: run python scripts/gen_fieldbus_doc.py"
    for m in dm.ALL_MAPS:
        assert f"0x{m.type_code:04X}" in doc.read_text(encoding="utf-8")
