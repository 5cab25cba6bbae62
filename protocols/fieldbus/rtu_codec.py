"""Registers <-> values for every device map: pure functions, used by the poller and the simulator.

Both directions live here so that a round trip (encode in the simulator, decode in the
gateway) is tested in one place against the single definition in `device_maps`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from battery.readings import StringScan
from protocols.fieldbus import device_maps as dm

ABSENT_UINT16 = 0


class DecodeError(ValueError):
    """Registers that do not fit the expected map (wrong device at that address, short read)."""


# ---- word helpers -------------------------------------------------------------------------


def to_int16(value: int) -> int:
    return value - 0x10000 if value & 0x8000 else value


def from_int16(value: int) -> int:
    if not -0x8000 <= value <= 0x7FFF:
        raise ValueError(f"{value} does not fit a signed 16-bit register")
    return value & 0xFFFF


def from_uint16(value: int) -> int:
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{value} does not fit an unsigned 16-bit register")
    return value


def to_long(high: int, low: int, signed: bool) -> int:
    value = (high << 16) | low
    if signed and value & 0x8000_0000:
        value -= 0x1_0000_0000
    return value


def from_long(value: int, signed: bool) -> tuple[int, int]:
    lo, hi = (-0x8000_0000, 0x7FFF_FFFF) if signed else (0, 0xFFFF_FFFF)
    if not lo <= value <= hi:
        raise ValueError(f"{value} does not fit a {'signed' if signed else 'unsigned'} 32-bit long")
    value &= 0xFFFF_FFFF
    return value >> 16, value & 0xFFFF


def bits_to_bools(bits: int, count: int) -> tuple[bool, ...]:
    return tuple(bool(bits >> i & 1) for i in range(count))


def bools_to_bits(values: Sequence[bool]) -> int:
    return sum(1 << i for i, v in enumerate(values) if v)


# ---- identity -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    kind: dm.DeviceKind | None  # None: a device type this gateway does not know
    type_code: int
    firmware: str


def decode_identity(registers: Sequence[int]) -> Identity:
    if len(registers) < 2:
        raise DecodeError(f"identity needs 2 registers, got {len(registers)}")
    return Identity(dm.KIND_BY_TYPE_CODE.get(registers[0]), registers[0], dm.firmware_text(registers[1]))


def _expect(registers: Sequence[int], device_map: dm.DeviceMap, where: str) -> None:
    if len(registers) < device_map.register_count:
        raise DecodeError(
            f"{where}: {len(registers)} registers, the {device_map.kind.value} map needs {device_map.register_count}"
        )
    if registers[0] != device_map.type_code:
        raise DecodeError(
            f"{where}: device type 0x{registers[0]:04X} is not a {device_map.kind.value} (0x{device_map.type_code:04X})"
        )


# ---- BM-SS string master ------------------------------------------------------------------


@dataclass(frozen=True)
class StringMasterExtras:
    """What the string master reports beyond a StringScan (used by discovery and docs)."""

    cell_count: int
    nominal_voltage: int  # of the batteries, from the BM-CS sensor type
    hall_range_a: int
    climate_fitted: bool
    insulation_fitted: bool
    insulation_kohm: int | None
    firmware: str


def encode_string_master(
    scan: StringScan,
    *,
    hall_range_a: int,
    nominal_voltage: int = 2,
    insulation_kohm: int | None = None,
    firmware: int = 0x0100,
    balancing: Sequence[bool] = (),
    insulation_status: int = 0,
) -> list[int]:
    """The whole register image of a string master (header + cells) for the values of a scan.
    Insulation and balancing not given are the scan's own; `insulation_status` is the BM-GS's
    own verdict (0 OK, 1 below its warning threshold)."""
    insulation_kohm = scan.insulation_kohm if insulation_kohm is None else insulation_kohm
    balancing = balancing or scan.cell_balancing
    cells = len(scan.cell_voltage_mv)
    for name in ("cell_resistance_uohm", "cell_temperature_dc", "cell_responded"):
        if len(getattr(scan, name)) != cells:
            raise ValueError(f"{scan.string_id}: {name} has {len(getattr(scan, name))} cells, voltages have {cells}")
    regs = [0] * dm.string_master_register_count(cells)
    climate = scan.ambient_dc is not None
    regs[0] = dm.STRING_MASTER.type_code
    regs[1] = firmware
    regs[2] = cells
    regs[3] = (
        (dm.STRING_FLAG_HALL_OK if scan.hall_ok else 0)
        | (dm.STRING_FLAG_RELAY_CLOSED if scan.relay_closed else 0)
        | (dm.STRING_FLAG_CLIMATE_FITTED if climate else 0)
        | (dm.STRING_FLAG_INSULATION_FITTED if insulation_kohm is not None else 0)
    )
    regs[dm.CELL_SENSOR_VOLTAGE_REGISTER] = from_uint16(nominal_voltage)
    regs[4:6] = from_long(scan.voltage_cv, signed=False)
    regs[6:8] = from_long(scan.current_ca, signed=True)
    h = dm.HALL_WINDOW
    regs[h : h + 4] = [dm.HALL_SENSOR.type_code, firmware, 0 if scan.hall_ok else 1, from_uint16(hall_range_a)]
    if climate:
        c = dm.CLIMATE_WINDOW
        humidity = scan.humidity_dpct if scan.humidity_dpct is not None else 0
        regs[c : c + 4] = [dm.CLIMATE_SENSOR.type_code, firmware, from_int16(scan.ambient_dc), from_uint16(humidity)]
    if insulation_kohm is not None:
        g = dm.INSULATION_WINDOW
        regs[g : g + 4] = [dm.INSULATION_SENSOR.type_code, firmware, min(insulation_kohm, 0xFFFF), insulation_status]
    for i in range(cells):
        base = dm.CELL_BLOCK_START + dm.CELL_BLOCK_SIZE * i
        status = (0 if scan.cell_responded[i] else dm.CELL_STATUS_NO_RESPONSE) | (
            dm.CELL_STATUS_BALANCING if i < len(balancing) and balancing[i] else 0
        )
        hi, lo = from_long(scan.cell_resistance_uohm[i], signed=False)
        regs[base : base + 5] = [
            from_uint16(scan.cell_voltage_mv[i]),
            hi,
            lo,
            from_int16(scan.cell_temperature_dc[i]),
            status,
        ]
    return regs


def string_master_cell_count(header: Sequence[int], where: str) -> int:
    """Cell count from the first registers of a string master (validates the device type)."""
    if len(header) < 3 or header[0] != dm.STRING_MASTER.type_code:
        raise DecodeError(f"{where}: not a {dm.STRING_MASTER.kind.value} (registers {list(header[:3])})")
    if header[2] > dm.MAX_CELLS:
        raise DecodeError(f"{where}: cell count {header[2]} above {dm.MAX_CELLS}")
    return header[2]


def decode_string_master(string_id: str, scan_no: int, timestamp: float, registers: Sequence[int]) -> StringScan:
    """A StringScan from the whole register image (header + every cell) of a string master."""
    where = f"string {string_id}"
    _expect(registers, dm.STRING_MASTER, where)
    cells = string_master_cell_count(registers, where)
    need = dm.string_master_register_count(cells)
    if len(registers) < need:
        raise DecodeError(f"{where}: {len(registers)} registers for {cells} cells, need {need}")
    flags = registers[3]
    climate = bool(flags & dm.STRING_FLAG_CLIMATE_FITTED)
    insulation = bool(flags & dm.STRING_FLAG_INSULATION_FITTED)
    c = dm.CLIMATE_WINDOW
    blocks = [registers[dm.CELL_BLOCK_START + dm.CELL_BLOCK_SIZE * i :][: dm.CELL_BLOCK_SIZE] for i in range(cells)]
    return StringScan(
        string_id=string_id,
        scan_no=scan_no,
        timestamp=timestamp,
        responded=True,
        voltage_cv=to_long(registers[4], registers[5], signed=False),
        current_ca=to_long(registers[6], registers[7], signed=True),
        hall_ok=bool(flags & dm.STRING_FLAG_HALL_OK),
        ambient_dc=to_int16(registers[c + 2]) if climate else None,
        humidity_dpct=registers[c + 3] if climate else None,
        relay_closed=bool(flags & dm.STRING_FLAG_RELAY_CLOSED),
        cell_voltage_mv=tuple(b[0] for b in blocks),
        cell_resistance_uohm=tuple(to_long(b[1], b[2], signed=False) for b in blocks),
        cell_temperature_dc=tuple(to_int16(b[3]) for b in blocks),
        cell_responded=tuple(not b[4] & dm.CELL_STATUS_NO_RESPONSE for b in blocks),
        insulation_kohm=registers[dm.INSULATION_WINDOW + 2] if insulation else None,
        cell_balancing=tuple(bool(b[4] & dm.CELL_STATUS_BALANCING) for b in blocks),
    )


def decode_string_master_extras(registers: Sequence[int], where: str) -> StringMasterExtras:
    _expect(registers, dm.STRING_MASTER, where)
    flags = registers[3]
    g = dm.INSULATION_WINDOW
    insulation = bool(flags & dm.STRING_FLAG_INSULATION_FITTED)
    return StringMasterExtras(
        cell_count=string_master_cell_count(registers, where),
        nominal_voltage=registers[dm.CELL_SENSOR_VOLTAGE_REGISTER],
        hall_range_a=registers[dm.HALL_WINDOW + 3],
        climate_fitted=bool(flags & dm.STRING_FLAG_CLIMATE_FITTED),
        insulation_fitted=insulation,
        insulation_kohm=registers[g + 2] if insulation else None,
        firmware=dm.firmware_text(registers[1]),
    )


# ---- BM-LC IO module and BM-MC master controller -------------------------------------------


@dataclass(frozen=True)
class IoModuleState:
    inputs: tuple[bool, ...]
    outputs: tuple[bool, ...]


def encode_io_module(inputs: Sequence[bool], outputs: Sequence[bool], firmware: int = 0x0100) -> list[int]:
    if len(inputs) != dm.IO_COUNT or len(outputs) != dm.IO_COUNT:
        raise ValueError(f"a BM-LC has {dm.IO_COUNT} inputs and outputs, got {len(inputs)}/{len(outputs)}")
    return [dm.IO_MODULE.type_code, firmware, dm.IO_COUNT, dm.IO_COUNT, bools_to_bits(inputs), bools_to_bits(outputs)]


def decode_io_module(registers: Sequence[int], where: str) -> IoModuleState:
    _expect(registers, dm.IO_MODULE, where)
    return IoModuleState(bits_to_bools(registers[4], registers[2]), bits_to_bools(registers[5], registers[3]))


def encode_master_controller(io_module_addresses: Sequence[int], firmware: int = 0x0100) -> list[int]:
    if len(io_module_addresses) > dm.MAX_IO_MODULES:
        raise ValueError(f"a BM-MC carries at most {dm.MAX_IO_MODULES} BM-LC, got {len(io_module_addresses)}")
    slots = list(io_module_addresses) + [0] * (dm.MAX_IO_MODULES - len(io_module_addresses))
    return [dm.MASTER_CONTROLLER.type_code, firmware, len(io_module_addresses), *slots]


def decode_master_controller(registers: Sequence[int], where: str) -> tuple[int, ...]:
    """The bus addresses of the BM-LC modules a master controller carries."""
    _expect(registers, dm.MASTER_CONTROLLER, where)
    count = min(registers[2], dm.MAX_IO_MODULES)
    return tuple(a for a in registers[3 : 3 + count] if a)
