"""The register map of the aggregator's Modbus TCP view: ONE registry, which docs/aggregator.md shows.

Unit 100 is the site: a summary and a directory of the gateways (their edge node ids as text);
unit n (1..99) is the n-th gateway, with its own state and, in fixed blocks, its UPSes and
strings. A register that serves what the gateway's own map serves (a string's voltage, a UPS's
SOC) copies that register's type, scale, unit and "not available" value from the gateway's
registry (protocols/scada/modbus_map.py, itself scaled by battery/quantities.py), so the two
maps cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from battery.quantities import Quantity
from protocols.scada import modbus_map as mm
from protocols.scada.modbus_registers import RegType

MAP_VERSION = 1
SITE_UNIT_ID = 100  # as unit 100 is the gateway itself in the gateway's map
MAX_GATEWAYS = 99  # units 1..99
DIRECTORY_STRIDE = 100  # unit 100: gateway n's directory entry at 100 × n
UPS_BASE, UPS_STRIDE, MAX_UPSES = 100, 20, 32  # gateway unit: UPS k at 100 + 20 × (k − 1)
STRING_BASE, STRING_STRIDE, MAX_STRINGS = 1000, 40, 32  # string s at 1000 + 40 × (s − 1)
GATEWAY_ID_BYTES = 32
DEVICE_ID_BYTES = 16


class ViewBlock(str, Enum):
    SITE = "site"  # unit 100, address 0
    DIRECTORY = "directory"  # unit 100, address 100 × n (gateway n)
    GATEWAY = "gateway"  # unit n, address 0
    UPS = "ups"  # unit n, address 100 + 20 × (k − 1)
    STRING = "string"  # unit n, address 1000 + 40 × (s − 1)


@dataclass(frozen=True)
class ViewRegister:
    block: ViewBlock
    offset: int  # from the block's base
    name: str
    type: RegType
    scale: str  # value of one count; "-" for codes, "text" for an id
    unit: str
    description: str
    quantity: Quantity | None = None
    text_bytes: int = 0  # an id: this many bytes, two per register, first byte high, NUL padded

    @property
    def size(self) -> int:
        return self.text_bytes // 2 if self.text_bytes else self.type.size


def _own(block: ViewBlock, offset: int, name: str, reg_type: RegType, scale: str, unit: str, text: str) -> ViewRegister:
    return ViewRegister(block, offset, name, reg_type, scale, unit, text)


def _as_gateway(block: ViewBlock, offset: int, name: str) -> ViewRegister:
    """A register the gateway's own map serves under the same name: its type, scale and unit."""
    g = mm.register(name)
    return ViewRegister(
        block, offset, name, g.type, g.scale, g.unit, f"As the gateway's `{name}`: {g.description}", g.quantity
    )


def _text(block: ViewBlock, offset: int, name: str, size: int, what: str) -> ViewRegister:
    return ViewRegister(block, offset, name, RegType.UINT16, "text", "", what, text_bytes=size)


U16, U32 = RegType.UINT16, RegType.UINT32
_SITE, _DIR, _GW, _UPS, _STR = ViewBlock.SITE, ViewBlock.DIRECTORY, ViewBlock.GATEWAY, ViewBlock.UPS, ViewBlock.STRING
_STALE = "0 current, 1 not current (the gateway is off-line, the device stale, or there is no such device)"
_STATUS = "0 no such device or disabled, 1 OK, 2 error (also: stale or the gateway off-line)"

REGISTERS: tuple[ViewRegister, ...] = (
    _own(_SITE, 0, "site_map_version", U16, "1", "", "Version of this map"),
    _own(_SITE, 1, "site_gateway_count", U16, "1", "", "Gateways served: units 1 .. this count"),
    _own(_SITE, 2, "site_online_count", U16, "1", "", "Of those, on-line"),
    _own(_SITE, 3, "site_alarm_active_count", U16, "1", "", "Sum of the gateways' active alarm counts"),
    _own(_SITE, 4, "site_heartbeat", U16, "1", "", "Counts up once per second while the server runs (wraps)"),
    _own(_SITE, 5, "site_time", U32, "1", "s", "The aggregator's clock, UNIX seconds"),
    _text(_DIR, 0, "directory_gateway_id", GATEWAY_ID_BYTES, "Edge node id of the gateway at unit n (UTF-8)"),
    _own(_DIR, 16, "directory_online", U16, "-", "", "0 off-line, 1 on-line"),
    _own(_GW, 0, "gateway_online", U16, "-", "", "0 off-line (NDEATH, or silent for offline_after_s), 1 on-line"),
    _own(_GW, 1, "gateway_silent_s", U32, "1", "s", "Seconds since the aggregator last heard the gateway"),
    _own(_GW, 3, "gateway_alarm_active_count", U16, "1", "", "Active alarms: the gateway's and its off-line alarm"),
    _own(_GW, 4, "gateway_status", U16, "-", "", "1 OK (on-line, no UPS or string in error), 2 error"),
    _own(_GW, 5, "gateway_ups_count", U16, "1", "", "UPSes served (blocks 1 .. this count)"),
    _own(_GW, 6, "gateway_string_count", U16, "1", "", "Strings served (blocks 1 .. this count)"),
    _text(_GW, 10, "gateway_id", GATEWAY_ID_BYTES, "Edge node id of this gateway (UTF-8)"),
    _own(_UPS, 0, "ups_status", U16, "-", "", _STATUS),
    _as_gateway(_UPS, 1, "ups_voltage"),
    _as_gateway(_UPS, 3, "ups_current"),
    _as_gateway(_UPS, 5, "ups_soc"),
    _own(_UPS, 6, "ups_stale", U16, "-", "", _STALE),
    _own(_UPS, 7, "ups_string_count", U16, "1", "", "Strings of this UPS"),
    _text(_UPS, 10, "ups_id", DEVICE_ID_BYTES, "The UPS's id in the gateway's topology (UTF-8)"),
    _own(_STR, 0, "string_ups", U16, "1", "", "The block number k of its UPS in this unit"),
    _own(_STR, 1, "string_status", U16, "-", "", _STATUS),
    _as_gateway(_STR, 2, "string_voltage"),
    _as_gateway(_STR, 4, "string_current"),
    _as_gateway(_STR, 6, "string_soc"),
    _as_gateway(_STR, 7, "string_soh"),
    _as_gateway(_STR, 8, "string_state"),
    _own(_STR, 9, "string_stale", U16, "-", "", _STALE),
    _text(_STR, 10, "string_id", DEVICE_ID_BYTES, "The string's id in the gateway's topology (UTF-8)"),
    _own(_STR, 18, "string_timestamp", U32, "1", "s", "UNIX seconds of its newest value (0: none)"),
)

BY_NAME: dict[str, ViewRegister] = {r.name: r for r in REGISTERS}


def registers_of(block: ViewBlock) -> tuple[ViewRegister, ...]:
    return tuple(r for r in REGISTERS if r.block is block)


def span(block: ViewBlock) -> int:
    return max(r.offset + r.size for r in registers_of(block))


SITE_UNIT_SPAN = DIRECTORY_STRIDE * MAX_GATEWAYS + span(ViewBlock.DIRECTORY)
GATEWAY_UNIT_SPAN = STRING_BASE + STRING_STRIDE * MAX_STRINGS


def _check() -> None:
    """Blocks must not overlap one another (runs at import)."""
    for block, room in (
        (ViewBlock.SITE, DIRECTORY_STRIDE),
        (ViewBlock.DIRECTORY, DIRECTORY_STRIDE),
        (ViewBlock.GATEWAY, UPS_BASE),
        (ViewBlock.UPS, UPS_STRIDE),
        (ViewBlock.STRING, STRING_STRIDE),
    ):
        used: set[int] = set()
        for r in registers_of(block):
            addresses = set(range(r.offset, r.offset + r.size))
            if addresses & used:
                raise ValueError(f"aggregator Modbus map: {r.name} overlaps another {block.value} register")
            used |= addresses
        if span(block) > room:
            raise ValueError(f"aggregator Modbus map: the {block.value} block is longer than its stride {room}")
    if UPS_BASE + UPS_STRIDE * MAX_UPSES > STRING_BASE:
        raise ValueError("aggregator Modbus map: the UPS blocks overlap the string blocks")


_check()


def encode_text(text: str, size: int) -> list[int]:
    """An id as registers: its UTF-8 bytes, two per register (first byte high), cut at `size` bytes, NUL padded."""
    data = text.encode("utf-8")[:size].ljust(size, b"\0")
    return [(data[i] << 8) | data[i + 1] for i in range(0, size, 2)]


def decode_text(words: list[int]) -> str:
    """Inverse of `encode_text` (for clients and tests)."""
    data = b"".join(w.to_bytes(2, "big") for w in words)
    return data.rstrip(b"\0").decode("utf-8", errors="replace")


def base_address(register: ViewRegister, index: int = 1) -> int:
    """Where `register` of block `index` (gateway n, UPS k, string s; 1 first) is in its unit."""
    base = {
        ViewBlock.SITE: 0,
        ViewBlock.DIRECTORY: DIRECTORY_STRIDE * index,
        ViewBlock.GATEWAY: 0,
        ViewBlock.UPS: UPS_BASE + UPS_STRIDE * (index - 1),
        ViewBlock.STRING: STRING_BASE + STRING_STRIDE * (index - 1),
    }[register.block]
    return base + register.offset


def register_table() -> str:
    """The Markdown table of docs/aggregator.md (a test keeps the two equal)."""
    lines = [
        "| block | offset | name | type | scale | unit | description |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in REGISTERS:
        kind = f"{r.size} × uint16" if r.text_bytes else r.type.value
        lines.append(f"| {r.block.value} | {r.offset} | `{r.name}` | {kind} | {r.scale} | {r.unit} | {r.description} |")
    return "\n".join(lines)
