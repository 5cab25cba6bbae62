"""The Modbus RTU register map of every field device, defined once.

The poller, the codec, the simulator, auto-discovery and docs/fieldbus.md all read these
tables, so the wire layout cannot drift between the gateway and the simulated hardware
(`scripts/gen_fieldbus_doc.py` renders the document; a test fails when it is stale).

Conventions (all devices):
- Measurements are input registers (function code 4); relay outputs are coils (FC 1/5/15)
  and digital inputs are discrete inputs (FC 2).
- Register 0 is the device type (two ASCII letters of the order code, e.g. 0x5353 = "SS"),
  register 1 the firmware version (major × 256 + minor): that is how discovery identifies
  a device without knowing it in advance.
- "long" values take two registers, high word first. Current and temperatures are signed
  (two's complement).
- Addresses inside a device's range that carry nothing read as 0; a read beyond the range
  gets Modbus exception 2 (illegal data address).

Sub-devices: the BM-HS hall sensor, BM-TH climate sensor and BM-GS insulation sensor of a
string have no bus address of their own in topology.yaml; the string master relays them in
fixed windows of its own map (each window starts with the sub-device's type and firmware
registers, type 0 = not fitted). One string is therefore read in one burst of contiguous
registers: header and cells, at most 125 registers per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

MAX_REGISTERS_PER_READ = 125  # Modbus limit for FC 3/4 (a 250-byte response payload)
MAX_CELLS = 120


class DeviceKind(Enum):
    STRING_MASTER = "BM-SS"
    HALL_SENSOR = "BM-HS"
    CLIMATE_SENSOR = "BM-TH"
    MASTER_CONTROLLER = "BM-MC"
    IO_MODULE = "BM-LC"
    INSULATION_SENSOR = "BM-GS"


def _type_code(kind: DeviceKind) -> int:
    letters = kind.value[-2:]
    return (ord(letters[0]) << 8) | ord(letters[1])


DEVICE_TYPE_CODES: dict[DeviceKind, int] = {kind: _type_code(kind) for kind in DeviceKind}
KIND_BY_TYPE_CODE: dict[int, DeviceKind] = {code: kind for kind, code in DEVICE_TYPE_CODES.items()}


def firmware_text(register: int) -> str:
    return f"{register >> 8}.{register & 0xFF}"


@dataclass(frozen=True)
class Field:
    """One value in the input registers of a device."""

    name: str
    address: int  # PDU address (0-based), relative to the map it belongs to
    meaning: str
    scale: str = "-"  # value of one count, e.g. "0.01 V"; "-" for codes and bit fields
    words: int = 1  # 2 = long, high word first
    signed: bool = False


@dataclass(frozen=True)
class Bit:
    """One coil or discrete input."""

    address: int
    name: str
    meaning: str


@dataclass(frozen=True)
class DeviceMap:
    kind: DeviceKind
    title: str
    purpose: str
    registers: tuple[Field, ...]  # input registers (FC 4)
    register_count: int  # size of the fixed input register range
    coils: tuple[Bit, ...] = ()
    discrete_inputs: tuple[Bit, ...] = ()

    @property
    def type_code(self) -> int:
        return DEVICE_TYPE_CODES[self.kind]

    def field(self, name: str) -> Field:
        for f in self.registers:
            if f.name == name:
                return f
        raise KeyError(f"{self.kind.value} has no register named {name!r}")


def _identity() -> tuple[Field, ...]:
    return (
        Field("device_type", 0, "device type: two ASCII letters of the order code (0 = not fitted)"),
        Field("firmware_version", 1, "firmware version, major × 256 + minor"),
    )


# ---- sub-devices of a string, relayed by its string master ------------------------------

HALL_SENSOR = DeviceMap(
    DeviceKind.HALL_SENSOR,
    "BM-HS hall sensor",
    "Measures the string current; the string master reports its connection state.",
    _identity()
    + (
        Field("hall_status", 2, "0 connected, 1 disconnected (no signal: current is not valid)"),
        Field("hall_range", 3, "full scale of the sensor", "1 A"),
    ),
    register_count=4,
)

CLIMATE_SENSOR = DeviceMap(
    DeviceKind.CLIMATE_SENSOR,
    "BM-TH temperature and humidity sensor",
    "Ambient temperature and relative humidity at the string.",
    _identity()
    + (
        Field("ambient_temperature", 2, "ambient temperature", "0.1 °C", signed=True),
        Field("ambient_humidity", 3, "relative humidity", "0.1 %RH"),
    ),
    register_count=4,
)

INSULATION_SENSOR = DeviceMap(
    DeviceKind.INSULATION_SENSOR,
    "BM-GS insulation sensor",
    "Insulation resistance of the string against ground.",
    _identity()
    + (
        Field("insulation_resistance", 2, "insulation resistance to ground (65535 = above range)", "1 kΩ"),
        Field("insulation_status", 3, "0 OK, 1 below the sensor's warning threshold, 2 measuring"),
    ),
    register_count=4,
)

# Where the string master relays its sub-devices (absolute register addresses).
HALL_WINDOW = 8
CLIMATE_WINDOW = 12
INSULATION_WINDOW = 16
SUB_DEVICE_WINDOWS: tuple[tuple[int, DeviceMap], ...] = (
    (HALL_WINDOW, HALL_SENSOR),
    (CLIMATE_WINDOW, CLIMATE_SENSOR),
    (INSULATION_WINDOW, INSULATION_SENSOR),
)

# ---- BM-SS string master with its BM-CS cell sensors ------------------------------------

STRING_FLAG_HALL_OK = 1 << 0
STRING_FLAG_RELAY_CLOSED = 1 << 1
STRING_FLAG_CLIMATE_FITTED = 1 << 2
STRING_FLAG_INSULATION_FITTED = 1 << 3

CELL_SENSOR_VOLTAGE_REGISTER = 20
CELL_BLOCK_START = 25  # first register of cell 1; header and cells are contiguous
CELL_BLOCK_SIZE = 5  # registers per cell
CELL_STATUS_NO_RESPONSE = 1 << 0  # the cell sensor did not answer the string master
CELL_STATUS_BALANCING = 1 << 1  # the cell sensor is bleeding charge to balance the string

CELL_FIELDS: tuple[Field, ...] = (
    Field("cell_voltage", 0, "cell (battery) voltage", "1 mV"),
    Field("cell_resistance", 1, "internal resistance", "1 µΩ", words=2),
    Field("cell_temperature", 3, "cell (pole) temperature", "0.1 °C", signed=True),
    Field("cell_status", 4, "bits: b0 cell sensor not answering (values void), b1 balancing"),
)

STRING_MASTER = DeviceMap(
    DeviceKind.STRING_MASTER,
    "BM-SS string master (with BM-CS cell sensors)",
    "String voltage and current, breaker state, the relayed sub-devices and every cell. "
    "Registers 0-24 are the header (21-24 reserved, read 0); cell n (1..cell_count) starts at 25 + 5 × (n - 1). "
    "The valid range ends after the last fitted cell: 25 + 5 × cell_count registers.",
    _identity()
    + (
        Field("cell_count", 2, "number of BM-CS cell sensors on this string (0..120)", "1"),
        Field(
            "string_flags",
            3,
            "bits: b0 hall sensor OK, b1 string breaker closed, b2 BM-TH fitted, b3 BM-GS fitted",
        ),
        Field("string_voltage", 4, "string voltage", "0.01 V", words=2),
        Field("string_current", 6, "string current, + charge, - discharge", "0.01 A", words=2, signed=True),
    )
    + tuple(
        Field(
            f"{sub.kind.value.lower().replace('-', '_')}_{f.name}",
            base + f.address,
            f"{sub.kind.value}: {f.meaning}",
            f.scale,
            f.words,
            f.signed,
        )
        for base, sub in SUB_DEVICE_WINDOWS
        for f in sub.registers
    )
    + (
        Field(
            "cell_sensor_voltage",
            CELL_SENSOR_VOLTAGE_REGISTER,
            "nominal battery voltage the BM-CS sensors are built for (2, 6 or 12)",
            "1 V",
        ),
    ),  # fmt: skip
    register_count=CELL_BLOCK_START,  # header only; cells extend it (string_master_register_count)
)

# ---- BM-MC master controller and its BM-LC IO modules ------------------------------------

MAX_IO_MODULES = 4
IO_COUNT = 8

MASTER_CONTROLLER = DeviceMap(
    DeviceKind.MASTER_CONTROLLER,
    "BM-MC master controller",
    "Carries up to 4 BM-LC IO modules; lists their bus addresses so discovery can find them.",
    _identity()
    + (Field("io_module_count", 2, "number of BM-LC modules attached (0..4)", "1"),)
    + tuple(
        Field(f"io_module_{n}_address", 2 + n, f"bus address of BM-LC module {n} (0 = none)")
        for n in range(1, MAX_IO_MODULES + 1)
    ),
    register_count=7,
)

IO_MODULE = DeviceMap(
    DeviceKind.IO_MODULE,
    "BM-LC IO module",
    "8 digital inputs (leakage, fire, ...) and 8 relay outputs (string disconnect, siren). "
    "The two bit-field registers give the whole module in one read; outputs are written as coils.",
    _identity()
    + (
        Field("input_count", 2, "digital inputs", "1"),
        Field("output_count", 3, "relay outputs", "1"),
        Field("inputs", 4, "bits: b0 = input 1 ... b7 = input 8 (1 = on)"),
        Field("outputs", 5, "bits: b0 = output 1 ... b7 = output 8 (1 = relay energised)"),
    ),
    register_count=6,
    coils=tuple(Bit(n - 1, f"output_{n}", f"relay output {n} (write 1 to energise)") for n in range(1, IO_COUNT + 1)),
    discrete_inputs=tuple(Bit(n - 1, f"input_{n}", f"digital input {n}") for n in range(1, IO_COUNT + 1)),
)

ALL_MAPS: tuple[DeviceMap, ...] = (
    STRING_MASTER,
    HALL_SENSOR,
    CLIMATE_SENSOR,
    INSULATION_SENSOR,
    MASTER_CONTROLLER,
    IO_MODULE,
)

MAP_BY_KIND: dict[DeviceKind, DeviceMap] = {m.kind: m for m in ALL_MAPS}


def cell_register(cell: int, offset: int = 0) -> int:
    """Absolute register of a cell's value (cell is 1-based)."""
    if not 1 <= cell <= MAX_CELLS:
        raise ValueError(f"cell index {cell} outside 1..{MAX_CELLS}")
    return CELL_BLOCK_START + CELL_BLOCK_SIZE * (cell - 1) + offset


def string_master_register_count(cell_count: int) -> int:
    if not 0 <= cell_count <= MAX_CELLS:
        raise ValueError(f"cell count {cell_count} outside 0..{MAX_CELLS}")
    return CELL_BLOCK_START + CELL_BLOCK_SIZE * cell_count


def read_plan(register_count: int, max_per_read: int = MAX_REGISTERS_PER_READ) -> tuple[tuple[int, int], ...]:
    """The fewest (start, count) reads that cover registers 0..register_count-1."""
    if register_count < 1:
        raise ValueError(f"register count must be at least 1, got {register_count}")
    return tuple((start, min(max_per_read, register_count - start)) for start in range(0, register_count, max_per_read))
