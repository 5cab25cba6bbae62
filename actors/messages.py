"""Every message that actors exchange, as frozen dataclasses (one module, one vocabulary).

Directions:
- up:   readings and statuses flow from the field bus to cells, strings, UPSes and the site;
- down: commands flow from the site to the hardware (relay outputs of a BM-LC);
- out:  updates go to subscribers (protocol actors, historian, alarm manager).

Units are part of the field names. Cell data travels as tuples of scaled integers (1 mV,
1 µΩ, 0.1 °C, 1 %) because one string's 120 cells cross a process boundary every scan and
the pickled size and cost of tuples of small ints is a fraction of that of objects
(see docs/design/ARCHITECTURE.md, "Processes and costs").

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


def _brief(message: object, what: str, cells: tuple) -> str:
    """A short repr for messages that carry a string's cells.

    Thespian renders every message it receives for a DEBUG log line, even when DEBUG is off;
    the generated repr of 840 cell values cost the gateway half of its CPU time (measured).
    """
    return f"{type(message).__name__}({what}, {len(cells)} cells)"


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
    topology: Topology  # the simulator transport builds its model of the site from it


@dataclass(frozen=True)
class InitMasterController:
    config: MasterControllerConfig
    bus: Address  # the FieldBus actor of the bus the BM-MC sits on
    topology: Topology


@dataclass(frozen=True)
class InitWebServer:
    topology: Topology


@dataclass(frozen=True)
class GatewayReady:
    """Gateway -> whoever sent InitGateway: every child is created and every service answered."""

    gateway_id: str
    children: tuple[str, ...]
    failures: tuple[str, ...] = ()  # services that could not start, with the reason


@dataclass(frozen=True)
class ServiceStarted:
    """A protocol actor -> gateway: my server is listening."""

    name: str
    detail: str


@dataclass(frozen=True)
class ServiceFailed:
    """A protocol actor -> gateway: my server could not start (e.g. port in use)."""

    name: str
    error: str


@dataclass(frozen=True)
class InitUps:
    ups: UpsConfig
    bus_addresses: tuple[tuple[str, Address], ...]  # bus id -> FieldBus actor
    gateway: Address
    string_snapshots: tuple[tuple[str, StringSnapshot], ...] = ()
    # bus id -> seconds of silence after which a cell is "communication lost" (from miss_limit)
    communication_lost_after_s: tuple[tuple[str, float], ...] = ()
    # bus id -> unanswered scans in a row after which a string master is "communication lost"
    miss_limits: tuple[tuple[str, int], ...] = ()
    stale_after_s: float = 10.0  # a string status older than this is not counted in the aggregates


@dataclass(frozen=True)
class InitStringMaster:
    string: StringConfig
    bus: Address
    ups: Address
    snapshot: StringSnapshot | None  # last good state, when re-created after a crash
    communication_lost_after_s: float | None = None  # cells; None: the alarm rules' default delay
    miss_limit: int | None = None  # the string master: None = the alarm rules' default delay


@dataclass(frozen=True)
class InitCell:
    index: int  # 1-based position in the string
    battery: BatteryType
    snapshot: CellSnapshot | None  # last good state, when re-created after a crash
    limits: Any = None  # actors.site.alarms.CellLimits (in-process only)


@dataclass(frozen=True)
class CellSnapshot:
    """What a cell sensor actor needs to resume after a restart."""

    soc_pct: float
    soh_pct: float
    reference_resistance_uohm: int  # the resistance the cell had when it was new/commissioned
    # actors.site.alarms.CellAlarmState: a re-created actor resumes its alarms (and so clears
    # one whose condition ended while it was down). Not saved to disk: after a full restart the
    # AlarmManager reconciles from the alarms the tree raises again.
    alarms: Any = None


@dataclass(frozen=True)
class StringSnapshot:
    """What a string master needs to resume after a restart (kept by its UPS)."""

    soc_pct: float
    cells: tuple[CellSnapshot | None, ...]
    alarms: Any = None  # actors.site.alarms.StringAlarmState (in memory only, as CellSnapshot.alarms)

    def __repr__(self) -> str:
        return f"StringSnapshot(soc={self.soc_pct:.1f}, {len(self.cells)} cells)"


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

    def __repr__(self) -> str:
        return _brief(self, f"{self.string_id} scan {self.scan_no} responded={self.responded}", self.cell_voltage_mv)


@dataclass(frozen=True)
class InitCellBank:
    """String master -> its in-process cell bank: create one CellSensor per battery."""

    battery: BatteryType
    snapshots: tuple[CellSnapshot | None, ...]
    limits: Any = None  # actors.site.alarms.CellLimits of the string (in-process only)


@dataclass(frozen=True)
class CellBatch:
    """String master -> its cell bank -> every cell sensor (in-process): one scan's readings.

    The same object reaches all cells of the string; each takes the entries at its own
    position. One shared message rather than one object per cell: allocating 120 messages a
    scan in each of 32 masters was a measurable share of the tree's CPU.
    """

    scan_no: int
    timestamp: float
    string_current_ca: int  # for the cells' charge accounting
    responded: tuple[bool, ...]  # per cell, exactly one entry per battery
    voltage_mv: tuple[int, ...]
    resistance_uohm: tuple[int, ...]
    temperature_dc: tuple[int, ...]

    def __repr__(self) -> str:
        return f"CellBatch(scan {self.scan_no}, {len(self.voltage_mv)} cells)"


@dataclass(frozen=True)
class CellBatchResult:
    """Cell bank -> string master: one status per cell, same order as the readings."""

    statuses: tuple[CellStatus, ...]
    restarted: tuple[int, ...]  # cell indices whose actor failed and was re-created this scan
    transitions: tuple = ()  # (cell index, AlarmTransition) raised or cleared this scan

    def __repr__(self) -> str:
        return f"CellBatchResult({len(self.statuses)} statuses, restarted={self.restarted})"


@dataclass(frozen=True)
class CellFailed:
    """Cell sensor -> its cell bank (in-process): evaluating this scan's reading raised.

    Reported rather than raised, so the bank re-creates the cell within the same scan (Thespian
    would retry the reading twice and only then hand back a PoisonMessage).
    """

    index: int
    error: str


@dataclass(frozen=True)
class CellRoundEnd:
    """Cell bank -> itself (in-process): every cell has had this scan's CellBatch.

    simpleSystemBase delivers in the order messages were sent. The bank sends this after the
    batch to every cell, so it arrives after every cell has evaluated; the answers those cells
    sent meanwhile are queued behind it, so the bank sends it once more (pass 1) and is then
    sure to have every answer of the scan. Cells answer only when their status changed.
    """

    pass_no: int


@dataclass(frozen=True)
class CellStatus:
    """Cell sensor actor -> its cell bank (in-process): what the cell made of its reading.

    The raw values are not repeated here: the string master has them from its StringScan.
    """

    index: int
    health: Health
    faults: CellFault
    soc_pct: int
    soh_pct: int
    snapshot: CellSnapshot
    alarm_transitions: tuple = ()  # actors.site.alarms.AlarmTransition raised/cleared this scan


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

    def __repr__(self) -> str:
        return _brief(self, f"{self.string_id} scan {self.scan_no} {self.health.name}", self.cell_voltage_mv)


@dataclass(frozen=True)
class UpsStatus:
    """UPS -> gateway -> subscribers: the aggregates of a UPS's strings."""

    ups_id: str
    index: int
    timestamp: float
    health: Health
    voltage_v: float | None  # average of the fresh string voltages (None: no fresh string)
    current_a: float | None  # sum of the fresh string currents
    soc_pct: float | None  # average of the fresh string SOCs
    string_ids: tuple[str, ...]


@dataclass(frozen=True)
class UpsUpdate:
    """UPS -> gateway -> subscribers: one message per UPS per scan (never one per string).

    Cross-process messages cost ~0.6 ms each whatever their size (THESPIAN.md §8-8), so the UPS
    batches its strings' statuses of a scan together with its aggregates.
    """

    ups: UpsStatus
    strings: tuple[StringStatus, ...]

    def __repr__(self) -> str:
        return f"UpsUpdate({self.ups.ups_id}: {len(self.strings)} strings)"


@dataclass(frozen=True)
class SiteUpdate:
    """Gateway -> subscribers: every UPS that reported in one scan, in ONE message per subscriber.

    With 8 UPSes and 4 subscribers this is 4 messages a scan instead of 32.
    """

    updates: tuple[UpsUpdate, ...]

    def __repr__(self) -> str:
        return f"SiteUpdate({len(self.updates)} UPSes)"


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
class SubscribeAlarms:
    """Ask the gateway for alarm notices only (no SiteUpdate): the Notifier needs no cell data."""

    subscriber: Address


@dataclass(frozen=True)
class RepublishActiveAlarms:
    """Gateway -> AlarmManager: send `subscriber` an AlarmNotice(event="active") for every active alarm.

    A protocol server that (re)subscribes must learn the alarms that are already active; event
    "active" is a state sync, not a new alarm (no trap, no e-mail).
    """

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
class LogAction:
    """Gateway -> AlarmManager: an operator's or SCADA's command, for the action log (what, why, when)."""

    action: str  # "switch_off" | "switch_on"
    reason: str  # who and how: "operator ops via the API", "Modbus TCP write by 10.0.0.7: ..."
    string_id: str | None
    time: float


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
class AttachMasterController:
    """Master controller -> the FieldBus of its bus: send me the IO modules' scans."""

    master_controller: Address


@dataclass(frozen=True)
class Heartbeat:
    """Main program -> watchdog and gateway, every 0.4 s: I am alive. Silence means the main
    program died (the watchdog then ends the system). Each answers with a HeartbeatAnswer."""

    sequence: int


@dataclass(frozen=True)
class HeartbeatAnswer:
    """Watchdog or gateway -> main program: I am alive too (pid: my process, for messages).

    parent_pid is the answering actor's parent process: Thespian's admin, which created it. When
    the admin dies the actor is re-parented, so a changed parent_pid means the system is lost."""

    sequence: int
    responder: str
    pid: int
    parent_pid: int


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
class InjectSimFault:
    """Developer -> gateway -> the FieldBus of a simulated bus: break something in the simulator.

    `fault` is a sim.faults dataclass (OpenCell, ThermalRunaway, ImplausibleValue, ...); with
    `clear` every fault of that type is removed from the string instead.
    """

    string_id: str
    fault: Any
    clear: bool = False


@dataclass(frozen=True)
class SetSimInput:
    """Developer -> gateway -> FieldBus: a simulated leak/fire detector closes (on) or opens."""

    alarm: str  # the input's alarm name in topology.yaml, e.g. "leakage"
    on: bool


@dataclass(frozen=True)
class GetCellRestarts:
    """Ask a string master how often each of its cell sensor actors was re-created."""

    request_id: int


@dataclass(frozen=True)
class CellRestarts:
    request_id: int
    counts: tuple[int, ...]
    snapshots: tuple[CellSnapshot | None, ...]

    def __repr__(self) -> str:
        return f"CellRestarts({self.request_id}, {sum(self.counts)} restarts)"


@dataclass(frozen=True)
class StringMasterStarted:
    """String master -> its UPS -> gateway, after every (re)start: where and which process I am."""

    string_id: str
    address: Address
    pid: int


@dataclass(frozen=True)
class LocateString:
    """Ask the gateway for the current string master of a string (tests, diagnostics)."""

    request_id: int
    string_id: str


@dataclass(frozen=True)
class StringLocation:
    request_id: int
    string_id: str
    address: Address | None  # None while the string master is being re-created
    pid: int


@dataclass(frozen=True)
class GetBusStats:
    request_id: int


@dataclass(frozen=True)
class BusStats:
    """How well a FieldBus keeps its schedule (benchmarks and diagnostics)."""

    request_id: int
    bus_id: str
    scans_done: int
    worst_lag_ms: float  # latest start of a scan behind its schedule
    outputs_written: int


# ----------------------------------------------------------------------------------------
# Field bus over Modbus RTU (issue 3): what a serial line reports besides string scans.
# Each is reported once per change (lost once, recovered once), never once per poll.
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceCommunicationLost:
    """FieldBus -> parent: a device missed `misses` polls in a row (BusConfig.miss_limit)."""

    bus_id: str
    device_address: int
    device: str  # "string s1 (BM-SS)", "BM-LC"
    misses: int
    reason: str  # the last error: "timeout", "Modbus exception 2", ...
    timestamp: float


@dataclass(frozen=True)
class DeviceCommunicationRecovered:
    bus_id: str
    device_address: int
    device: str
    outage_s: float
    timestamp: float


@dataclass(frozen=True)
class BusPortLost:
    """The serial port vanished or failed (cable/USB adapter unplugged); reopened with backoff."""

    bus_id: str
    port: str
    reason: str
    timestamp: float


@dataclass(frozen=True)
class BusPortReopened:
    bus_id: str
    port: str
    outage_s: float
    timestamp: float


@dataclass(frozen=True)
class OutputWritten:
    """FieldBus -> commander: the outcome of a SetOutput (ok=False says why in `error`)."""

    device_address: int
    output: int  # 1..8
    on: bool
    ok: bool
    error: str
    queued_ms: float  # from arrival at the bus to the request going on the wire
    timestamp: float


@dataclass(frozen=True)
class IoModuleScan:
    """FieldBus -> master controller: inputs and outputs of one BM-LC, once per scan."""

    bus_id: str
    device_address: int
    scan_no: int
    timestamp: float
    responded: bool  # False: the module did not answer; inputs/outputs are void
    inputs: tuple[bool, ...] = ()  # input 1 first
    outputs: tuple[bool, ...] = ()


BusEvent = DeviceCommunicationLost | DeviceCommunicationRecovered | BusPortLost | BusPortReopened | OutputWritten


# ----------------------------------------------------------------------------------------
# Alarms and notification (issue 5; actors/site/alarms/, alarm_manager.py, notifier.py).
# `kind` is an actors.site.alarms.kinds.AlarmKind value (a str enum, so plain str here).
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmRaised:
    """Up (cell sensor / string master / master controller -> gateway -> alarm manager)."""

    kind: str
    ups_id: str | None
    string_id: str | None
    cell_index: int | None  # 1-based, None for string/UPS/site alarms
    value: float | None  # the value that crossed the limit (scaled units for cells)
    limit: float | None  # the threshold it crossed, None for yes/no alarms
    time: float  # UNIX seconds
    detail: str = ""  # a digital input's name ("leakage"), else ""


@dataclass(frozen=True)
class AlarmCleared:
    """Up: the condition of an alarm is gone (value = the value that cleared it)."""

    kind: str
    ups_id: str | None
    string_id: str | None
    cell_index: int | None
    value: float | None
    limit: float | None
    time: float
    detail: str = ""


@dataclass(frozen=True)
class AcknowledgeAlarm:
    """Operator (web, Modbus, SNMP) -> gateway -> alarm manager."""

    alarm_id: int
    who: str


@dataclass(frozen=True)
class AlarmNotice:
    """Alarm manager -> gateway -> subscribers (notifier, web, SNMP traps): a stored alarm changed.

    event: "raised" | "cleared" | "acknowledged" | "closed" (cleared while the gateway was down)
    | "active" (a state sync for a (re)subscribing server: the alarm was already active; notify nobody).
    """

    event: str
    alarm_id: int
    kind: str
    title: str  # the operator-visible name ("Temperature high", or a digital input's name)
    ups_id: str | None
    string_id: str | None
    cell_index: int | None
    value: float | None
    limit: float | None
    from_time: float
    to_time: float | None
    acknowledged_by: str | None
    acknowledged_at: float | None
    detail: str = ""


@dataclass(frozen=True)
class SetSiren:
    """Alarm manager -> gateway -> master controller: every BM-LC output of function "siren"."""

    on: bool
    reason: str


@dataclass(frozen=True)
class InitAlarmManager:
    topology: Topology
    settings_db: str  # <storage dir>/settings.db
    switch_off_kinds: tuple[str, ...] = ("cell_voltage_high", "cell_voltage_low", "cell_temperature_high")
    reconcile_after_s: float = 120.0  # after a restart, alarms not re-raised within this are closed


@dataclass(frozen=True)
class InitNotifier:
    settings_db: str  # <storage dir>/settings.db
    site_name: str = ""


@dataclass(frozen=True)
class ReloadNotificationSettings:
    """Web -> notifier: the SMTP/SMS/matrix settings in settings.db were changed."""


@dataclass(frozen=True)
class SendTestNotification:
    """Web -> notifier: the settings pages' "Test e-mail" / "Test SMS" buttons.

    channel: "email" | "sms"; contact: an e-mail address or a phone number. The reply is a
    NotificationTestResult to the sender.
    """

    request_id: int
    channel: str
    contact: str


@dataclass(frozen=True)
class NotificationTestResult:
    request_id: int
    channel: str
    contact: str
    ok: bool
    error: str  # "" when ok


# ----------------------------------------------------------------------------------------
# History (issue 4): the Historian actor (actors/site/historian.py).
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InitHistorian:
    """Gateway -> Historian: where to store, for how long, and the site (names of strings)."""

    storage_dir: str
    retention_days: int
    min_free_mb: int
    topology: Topology
    commit_interval_s: float = 60.0  # a crash loses at most this much of the newest scans
    hot_days: int = 2
    alarm_sink: Address | None = None  # receives HistoryDiskAlarm


@dataclass(frozen=True)
class HistorianFlush:
    """Ask the Historian to commit everything received so far; it answers HistorianFlushed."""

    request_id: int


@dataclass(frozen=True)
class HistorianFlushed:
    request_id: int
    committed: int  # scans committed since start
    pending: int  # scans still waiting (0 unless a commit failed)
    dropped: int  # scans refused because the writer fell behind
    error: str | None = None


@dataclass(frozen=True)
class HistoryDiskAlarm:
    """Historian -> alarm sink: free space fell under the floor (oldest data deleted) or recovered."""

    text: str
    active: bool


# ----------------------------------------------------------------------------------------
# SCADA and NMS (issue 6; protocols/modbus_actor.py, protocols/snmp_actor.py).
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InitModbusServer:
    """Gateway -> ModbusServer actor: serve this site (services.modbus) and subscribe to me."""

    topology: Topology


@dataclass(frozen=True)
class InitSnmpAgent:
    """Gateway -> SnmpAgent actor: serve this site (services.snmp) and subscribe to me."""

    topology: Topology
