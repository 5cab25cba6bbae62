"""Messages that flow down the tree: every child's Init (exactly one per (re)creation) and commands."""

from __future__ import annotations

from dataclasses import dataclass

from actors.messages.address import Address
from battery.alarms.kinds import DEFAULT_SWITCH_OFF_KINDS
from battery.alarms.limits import CellLimits
from battery.site import BatteryType, BusConfig, MasterControllerConfig, SnmpConfig, StringConfig, Topology, UpsConfig
from battery.status import CellSnapshot, StringSnapshot


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
    alarms: Address | None = None  # the AlarmManager, where input and switch-off alarms go


@dataclass(frozen=True)
class InitWebServer:
    topology: Topology


@dataclass(frozen=True)
class InitUps:
    ups: UpsConfig
    bus_addresses: tuple[tuple[str, Address], ...]  # bus id -> FieldBus actor
    gateway: Address
    alarms: Address | None = None  # the AlarmManager: string masters send their alarm events straight to it
    string_snapshots: tuple[tuple[str, StringSnapshot], ...] = ()
    # bus id -> seconds of silence after which a cell is "communication lost" (from miss_limit).
    # Only cells: the string masters' "communication lost" is the field bus's verdict on each scan.
    communication_lost_after_s: tuple[tuple[str, float], ...] = ()
    stale_after_s: float = 10.0  # a string status older than this is not counted in the aggregates


@dataclass(frozen=True)
class InitStringMaster:
    string: StringConfig
    bus: Address
    ups: Address
    snapshot: StringSnapshot | None  # last good state, when re-created after a crash
    alarms: Address | None = None  # the AlarmManager, where this string's alarm events go
    communication_lost_after_s: float | None = None  # cells; None: the alarm rules' default delay


@dataclass(frozen=True)
class InitCell:
    index: int  # 1-based position in the string
    battery: BatteryType
    snapshot: CellSnapshot | None  # last good state, when re-created after a crash
    limits: CellLimits | None = None  # in-process only


@dataclass(frozen=True)
class InitCellBank:
    """String master -> its in-process cell bank: create one CellSensor per battery."""

    battery: BatteryType
    snapshots: tuple[CellSnapshot | None, ...]
    limits: CellLimits | None = None  # the string's (in-process only)


@dataclass(frozen=True)
class AttachString:
    """UPS -> the FieldBus of a string's bus: send this string's scans to me (sent again after
    every restart of its string master, and to a re-created FieldBus)."""

    string_id: str
    master: Address  # where the scans go: the UPS that hosts the string master


@dataclass(frozen=True)
class AttachMasterController:
    """Master controller -> the FieldBus of its bus: send me the IO modules' scans."""

    master_controller: Address


@dataclass(frozen=True)
class BusAddressChanged:
    """Gateway -> UPSes and master controller: a FieldBus actor was re-created; attach again."""

    bus_id: str
    address: Address


@dataclass(frozen=True)
class SetSiren:
    """Alarm manager -> gateway -> master controller: every BM-LC output of function "siren"."""

    on: bool
    reason: str


@dataclass(frozen=True)
class LogAction:
    """Gateway -> AlarmManager: an operator's or SCADA's command, for the action log (what, why, when)."""

    action: str  # "switch_off" | "switch_on"
    reason: str  # who and how: "operator ops via the API", "Modbus TCP write by 10.0.0.7: ..."
    string_id: str | None
    time: float


@dataclass(frozen=True)
class SettingsChanged:
    """Web -> gateway: a runtime setting in settings.db changed (alarm limits, notification
    settings or switches); read them now rather than at the next poll of the settings version."""


@dataclass(frozen=True)
class SetAlarmLimits:
    """Gateway -> UPS -> string master: the string's alarm limits changed at run time.

    `overrides` is the string's whole effective set (topology.yaml's with the stored runtime
    ones on top, battery/alarms/runtime_limits.py), already checked: applying it twice is
    harmless, and a re-created string master gets the same from its UPS's configuration."""

    string_id: str
    overrides: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ChangeCellLimits:
    """String master -> its in-process cell bank -> every CellSensor: compare with these from the
    next scan on (each cell keeps its alarm states; a delay already running goes on)."""

    limits: CellLimits  # in-process only


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
class HistorianFlush:
    """Ask the Historian to commit everything received so far; it answers HistorianFlushed."""

    request_id: int


@dataclass(frozen=True)
class StartWatchdog:
    timeout_s: float


@dataclass(frozen=True)
class Heartbeat:
    """Main program -> watchdog and gateway, every 0.4 s: I am alive. Silence means the main
    program died (the watchdog then ends the system). Each answers with a HeartbeatAnswer."""

    sequence: int


@dataclass(frozen=True)
class InitAlarmManager:
    topology: Topology
    settings_db: str  # <storage dir>/settings.db
    switch_off_kinds: tuple[str, ...] = tuple(sorted(k.value for k in DEFAULT_SWITCH_OFF_KINDS))
    reconcile_after_s: float = 120.0  # after a restart, alarms not re-raised within this are closed


@dataclass(frozen=True)
class InitNotifier:
    settings_db: str  # <storage dir>/settings.db
    site_name: str = ""


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
class InitModbusServer:
    """Gateway -> ModbusServer actor: serve this site (services.modbus) and subscribe to me."""

    topology: Topology


@dataclass(frozen=True)
class InitSnmpAgent:
    """Gateway -> SnmpAgent actor: serve this site (services.snmp) and subscribe to me."""

    topology: Topology


@dataclass(frozen=True)
class SetSnmpConfig:
    """Gateway -> SnmpAgent actor: the effective SNMP settings changed at run time (topology.yaml's
    services.snmp with the administrator's overrides, storage/snmp_settings.py); take them in place."""

    config: SnmpConfig


@dataclass(frozen=True)
class AlarmManagerChanged:
    """Gateway -> UPSes and master controller: the AlarmManager was re-created; send alarm events
    to this address from now on."""

    address: Address


@dataclass(frozen=True)
class InitUplink:
    """Gateway -> Uplink actor: publish this site to services.uplink's broker and subscribe to me."""

    topology: Topology
