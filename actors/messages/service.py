"""Subscriptions, queries and the hooks tests and tools use to inject faults."""

from __future__ import annotations

from dataclasses import dataclass

from actors.messages.address import Address
from battery.status import CellSnapshot
from sim.faults import StringFault

SITE = "site"  # one SiteUpdate per scan: every UPS, string and cell
ALARMS = "alarms"  # every AlarmNotice; a new subscriber first gets the active alarms ("active")
TOPICS = frozenset({SITE, ALARMS})


@dataclass(frozen=True)
class Subscribe:
    """Ask the gateway for the topics a server serves, and only those.

    The Notifier needs no cell data (ALARMS only); the web view reads alarms from the alarm table
    and needs no notices (SITE only); Modbus and SNMP serve both.
    """

    subscriber: Address
    topics: frozenset[str]

    def __post_init__(self) -> None:
        unknown = set(self.topics) - TOPICS
        if unknown or not self.topics:
            raise ValueError(f"subscribe to one or more of {sorted(TOPICS)}, not {sorted(unknown) or 'nothing'}")


@dataclass(frozen=True)
class RepublishActiveAlarms:
    """Gateway -> AlarmManager: send `subscriber` an AlarmNotice(event="active") for every active alarm.

    A protocol server that (re)subscribes must learn the alarms that are already active; event
    "active" is a state sync, not a new alarm (no trap, no e-mail).
    """

    subscriber: Address


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
class GetCellRestarts:
    """Ask a UPS how often each cell sensor actor of one of its strings was re-created."""

    request_id: int
    string_id: str


@dataclass(frozen=True)
class CellRestarts:
    request_id: int
    counts: tuple[int, ...]
    snapshots: tuple[CellSnapshot | None, ...]

    def __repr__(self) -> str:
        return f"CellRestarts({self.request_id}, {sum(self.counts)} restarts)"


@dataclass(frozen=True)
class CrashForTest:
    """Fault injection for tests: the receiving actor raises while handling this message.

    Sent to a UPS with a string id, it is forwarded to that string master, and with a cell
    index as well, on to that cell sensor actor.
    """

    cell_index: int | None = None
    string_id: str | None = None


@dataclass(frozen=True)
class InjectSimFault:
    """Developer -> gateway -> the FieldBus of a simulated bus: break something in the simulator.

    `fault` is a sim.faults dataclass (OpenCell, ThermalRunaway, ImplausibleValue, ...); with
    `clear` every fault of that type is removed from the string instead.
    """

    string_id: str
    fault: StringFault
    clear: bool = False


@dataclass(frozen=True)
class SetSimInput:
    """Developer -> gateway -> FieldBus: a simulated leak/fire detector closes (on) or opens."""

    alarm: str  # the input's alarm name in topology.yaml, e.g. "leakage"
    on: bool


@dataclass(frozen=True)
class NotificationTestResult:
    request_id: int
    channel: str
    contact: str
    ok: bool
    error: str  # "" when ok
