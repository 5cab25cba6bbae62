"""Messages that flow up the tree: cell rounds, UPS and site updates, and service reports."""

from __future__ import annotations

from dataclasses import dataclass

from actors.messages.address import Address
from battery.alarms.evaluator import AlarmTransition
from battery.status import CellStatus, StringSnapshot, StringStatus, UpsStatus


@dataclass(frozen=True)
class CellBatchResult:
    """Cell bank -> string master: one status per cell, same order as the readings."""

    statuses: tuple[CellStatus, ...]
    restarted: tuple[int, ...]  # cell indices whose actor failed and was re-created this scan
    transitions: tuple[tuple[int, AlarmTransition], ...] = ()  # (cell index, transition) this scan

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
class StringMasterStarted:
    """String master -> its UPS -> gateway, after every (re)start: where its scans go and which
    process it runs in (both its UPS's)."""

    string_id: str
    address: Address
    pid: int


@dataclass(frozen=True)
class HistorianFlushed:
    request_id: int
    committed: int  # scans committed since start
    pending: int  # scans still waiting (0 unless a commit failed)
    dropped: int  # scans refused because the writer fell behind
    error: str | None = None


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
class StringMasterFailed:
    """String master -> its string host (in-process): handling a message raised; re-create me.

    Reported rather than raised, as CellFailed, so the host re-creates it within the same ask."""

    message: str  # the type of the message it failed on
    error: str


@dataclass(frozen=True)
class StringRoundEnd:
    """String host -> itself (in-process): the string masters have had the UPS's message, and
    (pass 1) what they sent meanwhile is in; the same two passes as CellRoundEnd."""

    pass_no: int


@dataclass(frozen=True)
class StringOutbox:
    """String host -> its UPS (in-process): everything the string masters sent during one ask, in
    order: statuses, snapshots, alarm events, attachments and answers, for the UPS to handle or
    send on."""

    messages: tuple

    def __repr__(self) -> str:
        return f"StringOutbox({', '.join(type(m).__name__ for m in self.messages)})"
