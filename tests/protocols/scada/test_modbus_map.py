"""The Modbus register map: registry checks, encoding, stale rules, request guard, the doc."""

from __future__ import annotations

import pytest

from battery.alarms.kinds import AlarmKind
from battery.alarms.records import AlarmNotice
from battery.codes import CellFault, Health
from protocols.scada import modbus_doc
from protocols.scada import modbus_map as mm
from protocols.scada.modbus_map import Block, Freshness, Register, RegType
from protocols.scada.modbus_pdu import ExceptionCode
from protocols.scada.modbus_tcp_server import (
    WritePolicy,
    acknowledge_commands,
    relay_command,
    request_refusal,
)
from tests.factories import sample_string_status, sample_topology
from tests.support import REPO


def test_published_registers_sit_at_their_published_addresses() -> None:
    published = {
        (Block.UPS, 0): "ups_status",
        (Block.UPS, 1): "ups_voltage",
        (Block.UPS, 3): "ups_current",
        (Block.UPS, 5): "ups_soc",
        (Block.STRING, 0): "string_ups_id",
        (Block.STRING, 2): "string_voltage",
        (Block.STRING, 4): "string_current",
        (Block.STRING, 9): "string_alarm",
        (Block.STRING, 14): "string_aux_input_status",
        (Block.CELL, 0): "cell_status",
        (Block.CELL, 1): "cell_voltage",
        (Block.CELL, 2): "cell_resistance",
        (Block.CELL, 4): "cell_temperature",
    }
    for (block, address), name in published.items():
        r = mm.register(name)
        assert (r.block, r.address, r.published) == (block, address, True)
    assert mm.register("cell_resistance").size == 2 and mm.register("string_current").type is RegType.INT32


def test_registry_rejects_overlaps() -> None:
    bad = mm.REGISTERS + (
        Register(Block.CELL, 3, "cell_clash", RegType.UINT16, "1", "", "overlaps resistance low word"),
    )
    with pytest.raises(ValueError, match="cell address 3 used by cell_resistance and cell_clash"):
        mm.check_registry(bad)


@pytest.mark.parametrize(
    ("reg_type", "value", "words"),
    [
        (RegType.INT32, -1234, (0xFFFF, 0xFB2E)),
        (RegType.INT32, 123456, (0x0001, 0xE240)),
        (RegType.UINT32, 70_123, (0x0001, 0x11EB)),
        (RegType.INT16, -55, (0xFFC9,)),
        (RegType.UINT16, 13_500, (13_500,)),
        (RegType.INT16, None, (0x8000,)),
        (RegType.UINT32, None, (0xFFFF, 0xFFFF)),
        (RegType.INT32, None, (0x8000, 0x0000)),
    ],
)
def test_encode_high_word_first_signed_and_sentinels(
    reg_type: RegType, value: int | None, words: tuple[int, ...]
) -> None:
    assert mm.encode(reg_type, value) == words
    assert mm.decode(reg_type, words) == value


def test_out_of_range_values_clamp_below_the_sentinel() -> None:
    assert mm.encode(RegType.UINT16, 70_000) == (0xFFFE,)
    assert mm.encode(RegType.INT16, -40_000) == (0x8001,)
    assert mm.decode(RegType.INT16, mm.encode(RegType.INT16, -40_000)) == -0x7FFF


def test_stale_string_reads_error_flagged_and_not_available() -> None:
    t = sample_topology(cells=3)
    status = sample_string_status(t, "s1")
    values = mm.string_values(status, 1, 3, Freshness(True, 1_700_000_000.0), 0, 0, 42)
    assert values["string_status"] == Health.ERROR and values["string_stale"] == 1
    assert values["string_voltage"] is None and values["string_current"] is None and values["string_soc"] is None
    assert values["string_timestamp"] == 1_700_000_000 and values["string_scan_counter"] == 42
    words = [0] * mm.string_unit_span(3)
    mm.pack_cells(status, True, 3, (), words)
    assert words[100:109] == [2, 0xFFFF, 0xFFFF, 0xFFFF, 0x8000, 0xFFFF, 0xFFFF, 0, 1]


def test_a_cell_that_did_not_answer_is_not_served_as_current() -> None:
    t = sample_topology(cells=3)
    s = sample_string_status(t, "s1")
    s = type(s)(**{**s.__dict__, "cell_health": (1, int(Health.STALE), 1), "cell_faults": (0, 1, 0)})
    words = [0] * mm.string_unit_span(3)
    mm.pack_cells(s, False, 3, (0, 0, 0b1000), words)
    assert words[100] == 1 and words[101] == s.cell_voltage_mv[0]
    assert words[200] == 2 and words[201] == 0xFFFF and words[208] & 1
    assert words[307] == 0b1000  # the cell alarm bits of cell 3
    r = s.cell_resistance_uohm[2]
    assert (words[302] << 16 | words[303]) == r and mm.decode(RegType.INT16, words[304:305]) == s.cell_temperature_dc[2]


def test_guard_answers_unknown_units_functions_and_writes() -> None:
    units = {1, 100, 101}
    closed = WritePolicy(enabled=False, clients=frozenset({"127.0.0.1"}))
    open_ = WritePolicy(enabled=True, clients=frozenset({"127.0.0.1"}))
    assert request_refusal(7, 3, "127.0.0.1", units, open_) == ExceptionCode.GATEWAY_PATH_UNAVAILABLE
    assert request_refusal(7, 0x2B, "127.0.0.1", units, open_) == ExceptionCode.GATEWAY_PATH_UNAVAILABLE
    assert request_refusal(101, 3, "10.0.0.9", units, closed) is None
    assert request_refusal(101, 4, "10.0.0.9", units, closed) is None
    assert request_refusal(101, 1, "127.0.0.1", units, open_) == ExceptionCode.ILLEGAL_FUNCTION
    assert request_refusal(101, 0x2B, "127.0.0.1", units, open_) == ExceptionCode.ILLEGAL_FUNCTION
    assert request_refusal(101, 6, "127.0.0.1", units, closed) == ExceptionCode.ILLEGAL_FUNCTION
    assert request_refusal(101, 16, "10.0.0.9", units, open_) == ExceptionCode.ILLEGAL_FUNCTION
    assert request_refusal(101, 16, "127.0.0.1", units, open_) is None


def _notice(alarm_id: int, acknowledged: bool = False) -> AlarmNotice:
    return AlarmNotice(
        event="raised",
        alarm_id=alarm_id,
        kind="cell_voltage_high",
        title="Voltage high",
        ups_id="ups1",
        string_id="s1",
        cell_index=2,
        value=14.9,
        limit=14.4,
        from_time=1.0,
        to_time=None,
        acknowledged_by="x" if acknowledged else None,
        acknowledged_at=2.0 if acknowledged else None,
    )


def test_acknowledge_commands() -> None:
    active = {3: _notice(3), 5: _notice(5, acknowledged=True), 9: _notice(9)}
    assert [c.alarm_id for c in acknowledge_commands(0xFFFF, active, "m") or []] == [3, 9]
    assert [c.alarm_id for c in acknowledge_commands(5, active, "m") or []] == [5]
    assert acknowledge_commands(4, active, "m") is None


def test_relay_command_values() -> None:
    off, on = relay_command("s3", 0), relay_command("s3", 1)
    assert off is not None and on is not None and (off.closed, on.closed, off.string_id) == (False, True, "s3")
    assert relay_command("s3", 2) is None


def test_alarm_bits() -> None:
    assert mm.alarm_bits(["hall_sensor", "string_voltage_low", "unknown"], mm.STRING_ALARM_BITS) == 0b1001000


def test_alarm_bits_are_keyed_by_alarm_kinds_and_never_share_a_bit() -> None:
    for table in (mm.STRING_ALARM_BITS, mm.CELL_ALARM_BITS):
        assert all(isinstance(kind, AlarmKind) for kind in table)
        assert len(set(table.values())) == len(table)
    assert not set(mm.RESERVED_STRING_ALARM_BITS) & set(mm.STRING_ALARM_BITS.values())


def test_the_published_string_soh_bit_is_reserved_and_reads_zero() -> None:
    """No alarm raises a string SOH low: b5 stays 0 whatever is active (the cell's b5 says it)."""
    every_kind = [k.value for k in AlarmKind]
    assert mm.alarm_bits(every_kind, mm.STRING_ALARM_BITS) & (1 << 5) == 0
    assert mm.alarm_bits(["cell_soh_low"], mm.CELL_ALARM_BITS) == 1 << 5


def test_docs_modbus_md_is_generated_from_the_registry() -> None:
    doc = (REPO / "docs" / "modbus.md").read_text(encoding="utf-8")
    assert doc == modbus_doc.markdown(), (
        "docs/modbus.md is stale: run `python -m protocols.scada.modbus_doc > docs/modbus.md`"
    )


def test_implausible_cell_readings_read_not_available_and_the_rest_is_served() -> None:
    t = sample_topology(cells=4)
    s = sample_string_status(t, "s1")
    faults = (
        int(CellFault.TEMPERATURE_IMPLAUSIBLE),
        int(CellFault.VOLTAGE_IMPLAUSIBLE),
        int(CellFault.OPEN_CIRCUIT),
        int(CellFault.RESISTANCE_IMPLAUSIBLE),
    )
    temps = (3000, *s.cell_temperature_dc[1:])  # cell 1's sensor reports 300.0 °C
    s = type(s)(**{**s.__dict__, "cell_faults": faults, "cell_temperature_dc": temps})
    words = [0] * mm.string_unit_span(4)
    mm.pack_cells(s, False, 4, (), words)
    cell1, cell2, cell3, cell4 = (words[100 * n : 100 * n + 9] for n in range(1, 5))
    assert cell1[4] == 0x8000 and cell1[1] == s.cell_voltage_mv[0]  # temperature not available, voltage served
    assert (cell1[2] << 16 | cell1[3]) == s.cell_resistance_uohm[0] and cell1[8] == CellFault.TEMPERATURE_IMPLAUSIBLE
    assert cell2[1] == 0xFFFF and mm.decode(RegType.INT16, cell2[4:5]) == s.cell_temperature_dc[1]
    assert cell3[2:4] == [0xFFFF, 0xFFFF] and cell3[1] == s.cell_voltage_mv[2]
    assert cell4[2:4] == [0xFFFF, 0xFFFF] and cell4[5:7] == [s.cell_soc_pct[3], s.cell_soh_pct[3]]


def test_a_no_response_fault_voids_the_cell_even_if_its_health_was_not_stale() -> None:
    t = sample_topology(cells=2)
    s = sample_string_status(t, "s1")
    s = type(s)(**{**s.__dict__, "cell_faults": (1, 0)})
    words = [0] * mm.string_unit_span(2)
    mm.pack_cells(s, False, 2, (), words)
    assert words[100:109] == [2, 0xFFFF, 0xFFFF, 0xFFFF, 0x8000, 0xFFFF, 0xFFFF, 0, 1]
    assert words[201] == s.cell_voltage_mv[1]


def test_the_analytics_registers_follow_the_published_offsets_and_carry_the_status() -> None:
    import dataclasses

    from tests.factories import sample_ups_status

    published = {
        b: max((r.address + r.size for r in mm.REGISTERS if r.block == b and r.published), default=0) for b in mm.Block
    }
    for r in mm.REGISTERS:
        if r.name.startswith(("ups_runtime", "ups_seconds", "string_runtime", "string_insulation", "cell_balancing")):
            assert r.address >= published.get(r.block, 0), r.name
    t = sample_topology(cells=3)
    s = dataclasses.replace(
        sample_string_status(t, "s1"),
        runaway=True,
        soh_method="capacity",
        soh_at=1_700_000_000.0,
        cell_balancing=(False, True, False),
        cell_soh_method=("resistance", "capacity", "none"),
    )
    fresh = mm.Freshness(stale=False, last_fresh_timestamp=s.timestamp)
    values = mm.string_values(s, 1, 3, fresh, 0, 0, 1)
    assert values["string_runtime"] == round(s.runtime_min) and values["string_insulation_resistance"] == 501
    assert (values["string_soh_method"], values["string_soh_time"]) == (2, 1_700_000_000)
    assert values["string_analytics_flags"] == 0b011  # discharge event under way, runaway warning
    assert values["string_discharge_start"] == int(s.discharge_started_at)
    u = dataclasses.replace(sample_ups_status(t, "ups1"), on_battery_since=s.timestamp - 90.0, timestamp=s.timestamp)
    ups = mm.ups_values(u, 2, fresh)
    assert ups["ups_runtime"] == round(u.runtime_min) and ups["ups_seconds_on_battery"] == 90
    words = [0] * mm.string_unit_span(3)
    mm.pack_cells(s, False, 3, [0] * 3, words)
    at = mm.register("cell_balancing").address, mm.register("cell_soh_method").address
    assert [(words[100 * n + at[0]], words[100 * n + at[1]]) for n in (1, 2, 3)] == [(0, 1), (1, 2), (0, 0)]
