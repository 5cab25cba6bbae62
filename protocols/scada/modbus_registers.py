"""The types of the Modbus register registry (protocols/scada/modbus_map.py): blocks, register
types with their "not available" sentinels, and one register's declaration.

Kept apart so the map's register tables can live in more than one module (the published map
and ours in modbus_map.py, the analytics registers in modbus_analytics_registers.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from battery.quantities import Quantity, quantity


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
