"""The Modbus TCP register map SCADA reads: ONE registry of every register, and its encoders.

The layout is the published BM-GW map (shared MODBUS_REFERENCE_MAP.md) so that SCADA
configurations built for the commercial gateway work unchanged, completed with registers the
published page left open (SOC, SOH, alarm and fault bits per cell; freshness; commands).
`docs/modbus.md` is generated from `REGISTERS` (`python -m protocols.scada.modbus_doc > docs/modbus.md`);
a test fails when the two differ, so the document cannot drift from what the server serves.
A register that carries a measured value takes its scale, unit and meaning from the registry of
quantities (battery/quantities.py, `Q(...)` below), so Modbus cannot serve another scale than
SNMP, the history and the JSON API.

Decisions the published map leaves open (documented in the generated page too):
- 32-bit values ("long") are two registers, high word first.
- Current, temperature and the other `int16`/`int32` registers are two's-complement signed.
- Stale data is never served as current: the status register reads 2 (error), the stale flag
  reads 1 and every measured value reads the "not available" sentinel of its type.
- An implausible cell reading (a `cell_faults` bit, protocols/scada/served_values.py) is not a
  measurement either: that value alone reads "not available".
- Unused addresses inside a unit's span read 0 (reserved); addresses past the span and writes
  to read-only registers answer exception 2 (illegal data address).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from battery.alarms.kinds import AlarmKind
from battery.codes import Health
from battery.plausibility import cell_answered
from battery.quantities import Quantity, quantity
from battery.status import StringStatus, UpsStatus
from protocols.scada.served_values import served_cell_values

MAP_VERSION = 1

GATEWAY_UNIT_ID = 100  # "100 + string index" with index 0: the gateway itself
STRING_UNIT_BASE = 100  # unit id of a string = 100 + string index (1..32)
CELL_STRIDE = 100  # cell n's registers start at address 100 × n


class Block(str, Enum):
    """Which unit a register lives in (cell addresses are offsets from 100 × cell index)."""

    GATEWAY = "gateway"
    UPS = "ups"
    STRING = "string"
    CELL = "cell"


class RegType(str, Enum):
    UINT16 = "uint16"
    INT16 = "int16"
    UINT32 = "uint32"
    INT32 = "int32"
    BITS16 = "bits16"  # a bit field; never "not available" (0 = no bit set)

    @property
    def size(self) -> int:
        return 2 if self in (RegType.UINT32, RegType.INT32) else 1

    @property
    def not_available(self) -> tuple[int, ...]:
        """What a register reads when its value is stale or unknown (SunSpec-style sentinels)."""
        return _NOT_AVAILABLE[self]


_NOT_AVAILABLE: dict[RegType, tuple[int, ...]] = {
    RegType.UINT16: (0xFFFF,),
    RegType.INT16: (0x8000,),
    RegType.UINT32: (0xFFFF, 0xFFFF),
    RegType.INT32: (0x8000, 0x0000),
    RegType.BITS16: (0x0000,),
}


@dataclass(frozen=True)
class Register:
    block: Block
    address: int  # absolute address in its unit; for CELL the offset from 100 × cell index
    name: str
    type: RegType
    scale: str  # value of one count, e.g. "0.01"; "-" for codes, "bits" for bit fields
    unit: str  # engineering unit of value × scale, "" for codes
    description: str
    writable: bool = False
    published: bool = False  # part of the published BM-GW map (never move these)
    quantity: Quantity | None = None  # the registry entry a measured value is (battery/quantities.py)

    @property
    def size(self) -> int:
        return self.type.size


R = Register


def Q(block: Block, address: int, name: str, reg_type: RegType, key: str, published: bool = False) -> Register:  # noqa: N802
    """A register carrying a quantity: scale, unit and meaning come from the registry, by key."""
    q = quantity(key)
    return Register(
        block, address, name, reg_type, str(q.resolution), q.unit, q.description, published=published, quantity=q
    )


_G, _U, _S, _C = Block.GATEWAY, Block.UPS, Block.STRING, Block.CELL
U16, I16, U32, I32, BITS = RegType.UINT16, RegType.INT16, RegType.UINT32, RegType.INT32, RegType.BITS16

STATUS_CODES = "0 disabled, 1 OK, 2 error (also: stale, see the stale flag)"
UPLINK_STATE_CODES = "0 not configured, 1 down, 2 waiting for the primary host, 3 connected"

REGISTERS: tuple[Register, ...] = (
    # -- gateway (unit 100): freshness, alarm summary, commands -----------------------------
    R(_G, 0, "gateway_status", U16, "-", "", "1 OK (every string fresh and OK), 2 error (a string in error or stale)"),
    R(_G, 1, "gateway_heartbeat", U16, "1", "", "Counts up once per second while the server runs (wraps at 65535)"),
    R(_G, 2, "gateway_time", U32, "1", "s", "Gateway clock, UNIX seconds"),
    R(_G, 4, "gateway_last_update", U32, "1", "s", "UNIX seconds of the newest fresh string data (0: none yet)"),
    R(_G, 6, "alarm_active_count", U16, "1", "", "Number of active alarms"),
    R(_G, 7, "alarm_unacknowledged_count", U16, "1", "", "Number of active alarms not yet acknowledged"),
    R(
        _G,
        8,
        "alarm_summary",
        BITS,
        "bits",
        "",
        "b0 a cell alarm is active, b1 a string alarm is active, b2 a string is stale, b3 an alarm is unacknowledged",
    ),
    R(_G, 9, "stale_string_count", U16, "1", "", "Strings whose data is stale"),
    R(_G, 10, "string_count", U16, "1", "", "Strings configured"),
    R(_G, 11, "ups_count", U16, "1", "", "UPSes configured"),
    R(_G, 12, "map_version", U16, "1", "", f"Version of this register map ({MAP_VERSION})"),
    R(_G, 13, "uplink_state", U16, "-", "", f"Link to the aggregator (docs/uplink.md): {UPLINK_STATE_CODES}"),
    R(_G, 14, "uplink_outbox_records", U32, "1", "", "Records waiting in the uplink's outbox for the broker"),
    R(
        _G,
        20,
        "alarm_acknowledge",
        U16,
        "-",
        "",
        "Write an alarm id (1..65534) to acknowledge that alarm, 65535 to acknowledge every active alarm (reads 0)",
        writable=True,
    ),
    # -- UPS (unit = UPS index 1..32) -------------------------------------------------------
    R(_U, 0, "ups_status", U16, "-", "", STATUS_CODES, published=True),
    Q(_U, 1, "ups_voltage", I32, "ups.voltage", published=True),
    Q(_U, 3, "ups_current", I32, "ups.current", published=True),
    Q(_U, 5, "ups_soc", U16, "ups.soc", published=True),
    R(_U, 6, "ups_stale", U16, "-", "", "0 fresh, 1 stale (values read as not available)"),
    R(_U, 7, "ups_timestamp", U32, "1", "s", "UNIX seconds of the last fresh UPS data (0: none yet)"),
    R(_U, 9, "ups_string_count", U16, "1", "", "Strings of this UPS"),
    # -- string (unit = 100 + string index) -------------------------------------------------
    R(_S, 0, "string_ups_id", U16, "-", "", "UPS index the string belongs to (0 = not connected)", published=True),
    R(_S, 1, "string_status", U16, "-", "", STATUS_CODES, published=True),
    Q(_S, 2, "string_voltage", I32, "string.voltage", published=True),
    Q(_S, 4, "string_current", I32, "string.current", published=True),
    Q(_S, 6, "string_soc", U16, "string.soc", published=True),
    Q(_S, 7, "string_balance", U16, "string.balance", published=True),
    R(
        _S,
        8,
        "string_state",
        U16,
        "-",
        "",
        "0 float charge, 1 equalizing charge, 2 discharge, 3 idle, 5 abnormal",
        published=True,
    ),
    R(_S, 9, "string_alarm", BITS, "bits", "", "See the alarm bits below (b0..b6 as published)", published=True),
    R(_S, 10, "string_cell_count", U16, "1", "", "Cells (batteries) in the string", published=True),
    Q(_S, 11, "string_ambient_temperature", I16, "string.ambient_temperature", published=True),
    Q(_S, 12, "string_ambient_humidity", U16, "string.ambient_humidity", published=True),
    R(_S, 13, "string_relay_status", U16, "-", "", "0 open, 1 closed", published=True),
    R(
        _S,
        14,
        "string_aux_input_status",
        U16,
        "-",
        "",
        "0 off, 1 on (reads 0: inputs are reported as alarms)",
        published=True,
    ),
    R(
        _S,
        15,
        "string_stale",
        U16,
        "-",
        "",
        "0 fresh, 1 stale (the string master did not answer; values not available)",
    ),
    R(_S, 16, "string_timestamp", U32, "1", "s", "UNIX seconds of the last fresh scan (0: none yet)"),
    R(_S, 18, "string_scan_counter", U16, "1", "", "Scan number of the last fresh scan, low 16 bits"),
    Q(_S, 19, "string_soh", U16, "string.soh"),
    R(
        _S,
        20,
        "string_relay_command",
        U16,
        "-",
        "",
        "Write 0 to open (switch the string off), 1 to close it; reads the relay status",
        writable=True,
    ),
    R(_S, 21, "string_cell_alarm_count", U16, "1", "", "Cells with at least one active alarm"),
    # -- cell (unit = 100 + string index, address = 100 × cell index + offset) -------------
    R(_C, 0, "cell_status", U16, "-", "", STATUS_CODES, published=True),
    Q(_C, 1, "cell_voltage", U16, "cell.voltage", published=True),
    Q(_C, 2, "cell_resistance", U32, "cell.resistance", published=True),
    Q(_C, 4, "cell_temperature", I16, "cell.temperature", published=True),
    Q(_C, 5, "cell_soc", U16, "cell.soc"),
    Q(_C, 6, "cell_soh", U16, "cell.soh"),
    R(_C, 7, "cell_alarm", BITS, "bits", "", "See the alarm bits below"),
    R(
        _C,
        8,
        "cell_faults",
        BITS,
        "bits",
        "",
        "b0 no response, b1 open circuit, b2 voltage implausible, b3 resistance implausible, "
        "b4 temperature implausible",
    ),
)

# Alarm kind -> bit in string_alarm / cell_alarm. b0..b6 of string_alarm are the published
# ones. The published b5 ("SOH low" of the string) is reserved and reads 0: no alarm raises it.
# A string's SOH is its weakest battery's, and SOH low is an alarm of that battery (cell_alarm
# b5, cell_soh_low), evaluated once, where the SOH is computed; a second, string-level alarm for
# the same condition would notify twice.
STRING_ALARM_BITS: dict[AlarmKind, int] = {
    AlarmKind.STRING_CURRENT_HIGH: 0,
    AlarmKind.STRING_CURRENT_LOW: 1,
    AlarmKind.STRING_VOLTAGE_HIGH: 2,
    AlarmKind.STRING_VOLTAGE_LOW: 3,
    AlarmKind.STRING_SOC_LOW: 4,
    AlarmKind.HALL_SENSOR: 6,
    AlarmKind.STRING_SWITCHED_OFF: 7,
    AlarmKind.COMMUNICATION_LOST: 8,
    AlarmKind.SENSOR_FAULT: 9,
    AlarmKind.DIGITAL_INPUT: 10,
}
RESERVED_STRING_ALARM_BITS = {5: "SOH low in the published map; reads 0 (see cell_alarm b5)"}
CELL_ALARM_BITS: dict[AlarmKind, int] = {
    AlarmKind.CELL_VOLTAGE_LOW: 0,
    AlarmKind.CELL_VOLTAGE_HIGH: 1,
    AlarmKind.CELL_RESISTANCE_HIGH: 2,
    AlarmKind.CELL_TEMPERATURE_HIGH: 3,
    AlarmKind.CELL_SOC_LOW: 4,
    AlarmKind.CELL_SOH_LOW: 5,
    AlarmKind.COMMUNICATION_LOST: 6,
    AlarmKind.SENSOR_FAULT: 7,
}


def alarm_bits(kinds: Iterable[str], table: dict[AlarmKind, int]) -> int:
    """The bit field of a set of active alarm kinds (kinds without a bit are left out).

    `kinds` are AlarmKind values as notices carry them: a `str` enum member hashes and compares
    as its value, so the plain strings find their keys.
    """
    bits = 0
    for kind in kinds:
        bit = table.get(kind)  # type: ignore[call-overload]
        if bit is not None:
            bits |= 1 << bit
    return bits


ACKNOWLEDGE_ALL = 0xFFFF


def registers_of(block: Block) -> tuple[Register, ...]:
    return tuple(r for r in REGISTERS if r.block == block)


def register(name: str) -> Register:
    for r in REGISTERS:
        if r.name == name:
            return r
    raise KeyError(f"no Modbus register named {name!r} in protocols/scada/modbus_map.py")


def span(block: Block) -> int:
    """Number of addresses a block occupies (last address + size)."""
    return max(r.address + r.size for r in registers_of(block))


def string_unit_span(cell_count: int) -> int:
    """Addresses served by a string unit with `cell_count` cells: header, then cells 1..n."""
    return CELL_STRIDE * cell_count + span(Block.CELL) if cell_count else span(Block.STRING)


def check_registry(registers: Sequence[Register] = REGISTERS) -> None:
    """Fail loudly on overlapping addresses or duplicate names (runs at import)."""
    names: set[str] = set()
    for block in Block:
        used: dict[int, str] = {}
        for r in (x for x in registers if x.block == block):
            if r.name in names:
                raise ValueError(f"modbus_map: register name {r.name!r} defined twice")
            names.add(r.name)
            for a in range(r.address, r.address + r.size):
                if a in used:
                    raise ValueError(f"modbus_map: {block.value} address {a} used by {used[a]} and {r.name}")
                used[a] = r.name
    if span(Block.CELL) > CELL_STRIDE or span(Block.STRING) > CELL_STRIDE:
        raise ValueError("modbus_map: string header or cell block overlaps cell 1 (stride 100)")


check_registry()


# ------------------------------------------------------------------------------------------
# Encoding: values in scaled integers -> register words.
# ------------------------------------------------------------------------------------------


def encode(reg_type: RegType, value: int | None) -> tuple[int, ...]:
    """Words of one value; None (stale/unknown) gives the type's "not available" sentinel.

    Values out of the type's range are clamped to its limits below the sentinel, so a wild
    reading never masquerades as "not available" or wraps into a plausible number.
    """
    if value is None:
        return reg_type.not_available
    if reg_type in (RegType.UINT16, RegType.BITS16):
        return (min(max(value, 0), 0xFFFE if reg_type is RegType.UINT16 else 0xFFFF),)
    if reg_type is RegType.INT16:
        return (min(max(value, -0x7FFF), 0x7FFF) & 0xFFFF,)
    if reg_type is RegType.UINT32:
        v = min(max(value, 0), 0xFFFFFFFE)
        return (v >> 16, v & 0xFFFF)
    v = min(max(value, -0x7FFFFFFF), 0x7FFFFFFF) & 0xFFFFFFFF
    return (v >> 16, v & 0xFFFF)


def decode(reg_type: RegType, words: Sequence[int]) -> int | None:
    """Inverse of `encode` (for clients and tests); the sentinel gives None."""
    if tuple(words[: reg_type.size]) == reg_type.not_available and reg_type is not RegType.BITS16:
        return None
    if reg_type.size == 2:
        v = (words[0] << 16) | words[1]
        return v - 0x100000000 if reg_type is RegType.INT32 and v & 0x80000000 else v
    v = words[0]
    return v - 0x10000 if reg_type is RegType.INT16 and v & 0x8000 else v


def status_code(health: int) -> int:
    """Health -> the published status code: stale reads as error (2)."""
    return Health.ERROR if health == Health.STALE else int(health)


def pack(block: Block, values: dict[str, int | None], words: list[int], base: int = 0) -> None:
    """Write every register of `block` named in `values` into `words` at `base` + address."""
    for r in _BY_BLOCK[block]:
        if r.name in values:
            w = encode(r.type, values[r.name])
            words[base + r.address : base + r.address + len(w)] = w


_BY_BLOCK: dict[Block, tuple[Register, ...]] = {b: registers_of(b) for b in Block}


_QUANTITY_OF: dict[str, Quantity] = {r.name: r.quantity for r in REGISTERS if r.quantity is not None}


def _wire(name: str, value: float | None) -> int | None:
    """A value in its quantity's unit -> the counts register `name` serves (its registry scale)."""
    return _QUANTITY_OF[name].to_wire(value)


@dataclass(frozen=True)
class Freshness:
    """What the server knows about a device's data beyond the status message itself."""

    stale: bool
    last_fresh_timestamp: float  # 0 when no fresh data was ever received


def ups_values(status: UpsStatus | None, string_count: int, freshness: Freshness) -> dict[str, int | None]:
    fresh = status is not None and not freshness.stale
    return {
        "ups_status": status_code(status.health) if fresh and status else int(Health.ERROR),
        "ups_voltage": _wire("ups_voltage", status.voltage_v) if fresh and status else None,
        "ups_current": _wire("ups_current", status.current_a) if fresh and status else None,
        "ups_soc": _wire("ups_soc", status.soc_pct) if fresh and status else None,
        "ups_stale": 0 if fresh else 1,
        "ups_timestamp": int(freshness.last_fresh_timestamp),
        "ups_string_count": string_count,
    }


def string_values(
    status: StringStatus | None,
    ups_index: int,
    cell_count: int,
    freshness: Freshness,
    alarm_bits: int,
    cell_alarm_count: int,
    last_fresh_scan_no: int,
) -> dict[str, int | None]:
    """The string header registers; stale or missing data gives "not available" values."""
    fresh = status is not None and not freshness.stale
    s = status if fresh else None
    relay = None if s is None else int(s.relay_closed)
    return {
        "string_ups_id": ups_index,
        "string_status": status_code(s.health) if s else int(Health.ERROR),
        "string_voltage": _wire("string_voltage", s.voltage_v) if s else None,
        "string_current": _wire("string_current", s.current_a) if s and s.hall_ok else None,  # no hall sensor: unknown
        "string_soc": _wire("string_soc", s.soc_pct) if s else None,
        "string_balance": _wire("string_balance", s.balance_pct) if s else None,
        "string_state": int(s.state) if s else None,
        "string_alarm": alarm_bits,
        "string_cell_count": cell_count,
        "string_ambient_temperature": _wire("string_ambient_temperature", s.ambient_c) if s else None,
        "string_ambient_humidity": _wire("string_ambient_humidity", s.humidity_pct) if s else None,
        "string_relay_status": relay,
        "string_aux_input_status": 0,
        "string_stale": 0 if fresh else 1,
        "string_timestamp": int(freshness.last_fresh_timestamp),
        "string_scan_counter": last_fresh_scan_no & 0xFFFF,
        "string_soh": _wire("string_soh", s.soh_pct) if s else None,
        "string_relay_command": relay,
        "string_cell_alarm_count": cell_alarm_count,
    }


_CELL = {r.name: r.address for r in registers_of(Block.CELL)}
_NA16 = RegType.UINT16.not_available[0]
_NA_I16 = RegType.INT16.not_available[0]


def pack_cells(
    status: StringStatus | None, stale: bool, cell_count: int, cell_alarms: Sequence[int], words: list[int]
) -> None:
    """Write the cell registers of a string unit (hot path: 120 cells per string per scan).

    A cell is served as current only when its string is fresh and the cell itself answered
    (battery/plausibility.py `cell_answered`); otherwise status = 2 and its values read
    "not available". A reading its fault bits call implausible reads "not available" alone.
    """
    o_status, o_v, o_r, o_t = (
        _CELL["cell_status"],
        _CELL["cell_voltage"],
        _CELL["cell_resistance"],
        _CELL["cell_temperature"],
    )
    o_soc, o_soh, o_alarm, o_faults = _CELL["cell_soc"], _CELL["cell_soh"], _CELL["cell_alarm"], _CELL["cell_faults"]
    have = 0 if status is None or stale else len(status.cell_health)
    for i in range(cell_count):
        base = CELL_STRIDE * (i + 1)
        alarm = cell_alarms[i] if i < len(cell_alarms) else 0
        if i < have and status is not None and cell_answered(status.cell_health[i], status.cell_faults[i]):
            v, r, t = served_cell_values(
                status.cell_faults[i],
                status.cell_voltage_mv[i],
                status.cell_resistance_uohm[i],
                status.cell_temperature_dc[i],
            )
            words[base + o_status] = status_code(status.cell_health[i])
            words[base + o_v] = _NA16 if v is None else min(max(v, 0), 0xFFFE)
            if r is None:
                words[base + o_r] = words[base + o_r + 1] = _NA16
            else:
                r = min(max(r, 0), 0xFFFFFFFE)
                words[base + o_r] = r >> 16
                words[base + o_r + 1] = r & 0xFFFF
            words[base + o_t] = _NA_I16 if t is None else min(max(t, -0x7FFF), 0x7FFF) & 0xFFFF
            words[base + o_soc] = min(max(status.cell_soc_pct[i], 0), 0xFFFE)
            words[base + o_soh] = min(max(status.cell_soh_pct[i], 0), 0xFFFE)
            words[base + o_faults] = status.cell_faults[i] & 0xFFFF
        else:
            words[base + o_status] = Health.ERROR
            words[base + o_v] = _NA16
            words[base + o_r] = _NA16
            words[base + o_r + 1] = _NA16
            words[base + o_t] = _NA_I16
            words[base + o_soc] = _NA16
            words[base + o_soh] = _NA16
            faults = status.cell_faults[i] if status is not None and i < len(status.cell_faults) else 0
            words[base + o_faults] = (faults | 1) & 0xFFFF  # b0: no response
        words[base + o_alarm] = alarm
