"""Every message that actors exchange, as frozen dataclasses (one module, one vocabulary).

Directions:
- up:   readings and statuses flow from the field bus to cells, strings, UPSes and the site;
- down: commands flow from the site to the hardware (relay outputs of a BM-LC);
- out:  updates go to subscribers (protocol actors, historian, alarm manager).

Units are part of the field names. Cell data travels as tuples of scaled integers (1 mV,
1 µΩ, 0.1 °C, 1 %) because one string's 120 cells cross a process boundary every scan and
the pickled size and cost of tuples of small ints is a fraction of that of objects
(see ARCHITECTURE.md, "Processes and costs").

Messages must stay picklable: module-level classes, no open resources, no actor system objects
other than ActorAddress values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

from actors.topology.model import (
    BatteryType,
    BusConfig,
    MasterControllerConfig,
    StringConfig,
    Topology,
    UpsConfig,
)

Address = Any  # thespian.actors.ActorAddress (unhashable: keep in lists, compare with ==)


# ----------------------------------------------------------------------------------------
# Shared codes. Their integer values are the ones of the published Modbus map; keep them.
# ----------------------------------------------------------------------------------------


class Health(IntEnum):
    """Status of a cell, string or UPS as SCADA reads it."""

    DISABLED = 0
    OK = 1
    ERROR = 2
    STALE = 3  # no fresh data: the device did not answer (never served as current)


class ChargeState(IntEnum):
    FLOAT = 0
    EQUALIZE = 1
    DISCHARGE = 2
    IDLE = 3
    ABNORMAL = 5


class CellFault(IntFlag):
    """Why a cell's reading cannot be trusted or what is physically wrong with it."""

    NONE = 0
    NO_RESPONSE = 1  # the cell sensor did not answer this scan
    OPEN_CIRCUIT = 2  # voltage near zero: a broken connection or an open cell
    VOLTAGE_IMPLAUSIBLE = 4  # outside the sensor's physical range
    RESISTANCE_IMPLAUSIBLE = 8
    TEMPERATURE_IMPLAUSIBLE = 16  # e.g. a sensor reporting 300.0 °C


# ----------------------------------------------------------------------------------------
# Supervision: each child is (re)configured by exactly one Init message from its parent.
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InitGateway:
    topology: Topology


@dataclass(frozen=True)
class InitFieldBus:
    bus: BusConfig
    strings: tuple[StringConfig, ...]  # string masters polled on this bus
    master_controller: MasterControllerConfig | None  # when the BM-MC sits on this bus


@dataclass(frozen=True)
class InitUps:
    ups: UpsConfig
    bus_addresses: tuple[tuple[str, Address], ...]  # bus id -> FieldBus actor
    gateway: Address
    string_snapshots: tuple[tuple[str, StringSnapshot], ...] = ()


@dataclass(frozen=True)
class InitStringMaster:
    string: StringConfig
    bus: Address
    ups: Address
    snapshot: StringSnapshot | None  # last good state, when re-created after a crash


@dataclass(frozen=True)
class InitCell:
    index: int  # 1-based position in the string
    battery: BatteryType
    snapshot: CellSnapshot | None  # last good state, when re-created after a crash


@dataclass(frozen=True)
class CellSnapshot:
    """What a cell sensor actor needs to resume after a restart."""

    soc_pct: float
    soh_pct: float
    reference_resistance_uohm: int  # the resistance the cell had when it was new/commissioned


@dataclass(frozen=True)
class StringSnapshot:
    """What a string master needs to resume after a restart (kept by its UPS)."""

    soc_pct: float
    cells: tuple[CellSnapshot | None, ...]


@dataclass(frozen=True)
class BusAddressChanged:
    """Gateway -> UPS -> string master: a FieldBus actor was re-created; attach again."""

    bus_id: str
    address: Address


@dataclass(frozen=True)
class AttachString:
    """String master -> its FieldBus: send my scans to me (sent again after every restart)."""

    string_id: str
    master: Address


# ----------------------------------------------------------------------------------------
# Up: readings and statuses.
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StringScan:
    """FieldBus -> string master: everything read from one string in one scan, one message."""

    string_id: str
    scan_no: int
    timestamp: float  # UNIX seconds when the scan started
    responded: bool  # False: the string master did not answer; all values below are void
    voltage_cv: int = 0  # 0.01 V
    current_ca: int = 0  # 0.01 A, + charge, - discharge
    hall_ok: bool = True
    ambient_dc: int | None = None  # 0.1 °C, None without a BM-TH
    humidity_dpct: int | None = None  # 0.1 %RH
    relay_closed: bool = True  # the string's breaker as the BM-LC output reports it
    cell_voltage_mv: tuple[int, ...] = ()
    cell_resistance_uohm: tuple[int, ...] = ()
    cell_temperature_dc: tuple[int, ...] = ()
    cell_responded: tuple[bool, ...] = ()


@dataclass(frozen=True)
class CellReading:
    """String master -> cell sensor actor (in-process), one per cell per scan."""

    scan_no: int
    timestamp: float
    responded: bool
    voltage_mv: int
    resistance_uohm: int
    temperature_dc: int
    string_current_ca: int  # for the cell's charge accounting


@dataclass(frozen=True)
class CellStatus:
    """Cell sensor actor -> string master (in-process)."""

    index: int
    scan_no: int
    health: Health
    faults: CellFault
    voltage_mv: int
    resistance_uohm: int
    temperature_dc: int
    soc_pct: int
    soh_pct: int
    snapshot: CellSnapshot


@dataclass(frozen=True)
class StringStatus:
    """String master -> UPS -> gateway -> subscribers: the string and all its cells."""

    string_id: str
    ups_id: str
    index: int
    scan_no: int
    timestamp: float
    health: Health
    voltage_v: float
    current_a: float
    state: ChargeState
    soc_pct: float
    soh_pct: float
    balance_pct: float
    ambient_c: float | None
    humidity_pct: float | None
    hall_ok: bool
    relay_closed: bool
    # Per cell, same order as the string (index 1 first). Scaled integers.
    cell_health: tuple[int, ...]
    cell_faults: tuple[int, ...]
    cell_voltage_mv: tuple[int, ...]
    cell_resistance_uohm: tuple[int, ...]
    cell_temperature_dc: tuple[int, ...]
    cell_soc_pct: tuple[int, ...]
    cell_soh_pct: tuple[int, ...]

    @property
    def stale(self) -> bool:
        return self.health == Health.STALE


@dataclass(frozen=True)
class UpsStatus:
    """UPS -> gateway -> subscribers: the aggregates of a UPS's strings."""

    ups_id: str
    index: int
    timestamp: float
    health: Health
    voltage_v: float  # average of the fresh string voltages
    current_a: float  # sum of the fresh string currents
    soc_pct: float  # average of the fresh string SOCs
    string_ids: tuple[str, ...]


@dataclass(frozen=True)
class StringSnapshotSaved:
    """String master -> its UPS: keep this to restore me if I die."""

    string_id: str
    snapshot: StringSnapshot


# ----------------------------------------------------------------------------------------
# Out: subscriptions.
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscribe:
    """Ask the gateway for every StringStatus and UpsStatus (and alarm events later)."""

    subscriber: Address


@dataclass(frozen=True)
class Unsubscribe:
    subscriber: Address


# ----------------------------------------------------------------------------------------
# Down: commands.
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetStringRelay:
    """Open (disconnect) or close a string's breaker through its BM-LC output."""

    string_id: str
    closed: bool
    reason: str


@dataclass(frozen=True)
class SetOutput:
    """Master controller -> its FieldBus: write one relay output (a coil) of a BM-LC."""

    device_address: int
    output: int  # 1..8
    on: bool
    reason: str


# ----------------------------------------------------------------------------------------
# Queries, the watchdog and test hooks.
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GetSiteStatus:
    request_id: int


@dataclass(frozen=True)
class SiteStatus:
    request_id: int
    upses: tuple[UpsStatus, ...]
    strings: tuple[StringStatus, ...]


@dataclass(frozen=True)
class Heartbeat:
    """Main program -> watchdog: I am alive. Silence means the main program died."""

    sent_at: float


@dataclass(frozen=True)
class StartWatchdog:
    timeout_s: float


@dataclass(frozen=True)
class CrashForTest:
    """Fault injection for tests: the receiving actor raises while handling this message.

    Sent to a string master with a cell index, it is forwarded to that cell sensor actor.
    """

    cell_index: int | None = None


@dataclass(frozen=True)
class WhoAreYou:
    """Ask an actor for its process id (tests kill processes by pid)."""

    request_id: int


@dataclass(frozen=True)
class IAm:
    request_id: int
    pid: int
    name: str
