"""The AlarmManager: keeps every alarm, switches strings off, drives the siren, logs actions.

Alarm events come up the tree (cell sensors via their string master, string masters, the
master controller's digital inputs, the historian's free-space check) and reach this actor
through the gateway. For each one it
- updates the live alarm table in memory (a repeated raise of an active alarm is the same alarm),
- publishes an AlarmNotice to the gateway, which hands it to its subscribers (notifier, web,
  Modbus, SNMP),
- opens the string's breaker (SetStringRelay closed=False) when a configured cell alarm is
  new and the topology gives the string a BM-LC disconnect output; only an operator closes it,
- switches the siren/warning light (SetSiren) to follow "any unacknowledged active alarm",
- and only then queues the change for settings.db, with each action and its reason.

Alarms never wait for the disk: everything above is decided from memory (alarms/live.py).
The writes are queued in order and written when the database takes them; while it does not
(a full disk, a locked file) they are retried every `RETRY_WRITES_S`, a full disk first gives up
the space reserve (alarms/persistence.py), and a queue that overflows keeps the newest state of
every active alarm (alarms/pending_writes.py).

A server that (re)subscribes learns the alarms already active: on RepublishActiveAlarms the
manager sends it one AlarmNotice(event="active") per active alarm, directly; after a restart
the book sends the same to the gateway, which fans them out. "active" is a state sync, so the
notifier and the trap sender ignore it.

One message that fails (a bug, a bad value) is logged with its traceback and skipped: the loop
keeps serving, because an ended loop would drop every later alarm.

After a restart the rules raise what is still true again (same alarm, no duplicate); alarms
stored as active that nobody raises again within `reconcile_after_s` cleared while the
gateway was down and are closed.

The work runs in the actor's asyncio thread because the store is aiosqlite; `AlarmBook` is
that engine and is tested without actors.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import structlog

from actors.base.init_gate import InitGate
from actors.base.protocol_actor import ProtocolActor, SendTo
from actors.messages.address import Address
from actors.messages.down import InitAlarmManager, LogAction, SetSiren
from actors.messages.service import RepublishActiveAlarms
from actors.site.live_alarms import LiveAlarms
from battery.alarms.kinds import AlarmKind
from battery.alarms.lifecycle import (
    AlarmKey,
    disconnect_strings,
    key_of,
    keys_to_close_after_restart,
    siren_on,
    switch_off_decision,
)
from battery.alarms.records import AlarmCleared, AlarmNotice, AlarmRaised
from battery.commands import AcknowledgeAlarm, SetStringRelay
from battery.site import Topology
from storage.alarm_persistence import AlarmPersistence, is_disk_full
from storage.alarm_store import (
    CLOSED_WHILE_DOWN,
    ActionLine,
    AlarmRecord,
    AlarmStore,
)
from storage.pending_writes import DEFAULT_MAX_PENDING, PendingWrites
from storage.space_reserve import RESERVE_FILE, SpaceReserve

_log = structlog.get_logger("gateway.alarms")
_KNOWN_KINDS = frozenset(k.value for k in AlarmKind)
_RECONCILE_RETRY_MIN_S = 1.0  # with reconcile_after_s = 0 a failing reconcile must not spin
RETRY_WRITES_S = 2.0  # while settings.db refuses writes, how often they are tried again


class AlarmBook:
    """The alarm manager's engine. `post` sends a message to the gateway (from the loop)."""

    def __init__(
        self,
        store: AlarmStore,
        topology: Topology,
        post: Callable[[Any], None],
        switch_off_kinds: tuple[str, ...],
        clock: Callable[[], float] = time.time,
        reserve: SpaceReserve | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self._store = store
        self._post = post
        self._switch_off_kinds = tuple(str(k) for k in switch_off_kinds)
        self._with_output = disconnect_strings(topology)
        self._clock = clock
        self._writes = AlarmPersistence(store, PendingWrites(max_pending), reserve, clock)
        self._live = LiveAlarms([], 1)
        self._siren: bool | None = None
        self._active_at_start: list[AlarmKey] = []
        self._confirmed: set[AlarmKey] = set()
        self.reconciled = False

    async def start(self) -> list[AlarmRecord]:
        """Load what was active before the (re)start, tell the gateway (event "active", which it
        fans out to every subscriber) and set the siren to match."""
        self._live = LiveAlarms(await self._store.active(), await self._store.next_id())
        if self._writes.reserve is not None:
            self._writes.reserve.ensure()
        active = self._live.active()
        self._active_at_start = [r.key for r in active]
        for notice in self._active_notices(active):
            self._post(notice)
        self._update_siren("start-up")
        await self.persist()
        return active

    @property
    def unwritten(self) -> int:
        """Changes settings.db has not taken yet."""
        return len(self._writes.pending)

    @property
    def writes_failing(self) -> bool:
        return self._writes.failing

    def active(self) -> list[AlarmRecord]:
        """The live active alarms (whatever the database holds)."""
        return self._live.active()

    async def persist(self, retry: bool = False) -> bool:
        """Write the queued changes; True when none is left. While writes fail, only a retry
        (the serve loop's timer) tries again: no message waits on a disk that refuses."""
        if not self.unwritten or (self._writes.failing and not retry):
            return not self.unwritten
        return await self._writes.flush(self._live.active)

    async def republish(self, subscriber: Address) -> int:
        """Send one AlarmNotice(event="active") per active alarm to `subscriber` only; returns how many."""
        notices = self._active_notices(self._live.active())
        for notice in notices:
            self._post(SendTo(subscriber, notice))
        return len(notices)

    @staticmethod
    def _active_notices(active: list[AlarmRecord]) -> list[AlarmNotice]:
        notices = []
        for rec in active:
            try:
                notices.append(rec.notice("active"))
            except ValueError:  # a kind this version does not know (a newer gateway stored it)
                _log.error("active alarm not published", alarm_id=rec.id, kind=rec.kind, exc_info=True)
        return notices

    async def reconcile(self) -> list[AlarmRecord]:
        """Close the alarms that were active at start and that no rule has raised since."""
        closed = []
        for key in keys_to_close_after_restart(self._active_at_start, self._confirmed):
            rec = self._live.close(key, self._clock(), None, CLOSED_WHILE_DOWN)
            if rec is not None:
                closed.append(rec)
                self._post(rec.notice("closed"))
                self._writes.pending.alarm(rec)
                self._log_action("close", CLOSED_WHILE_DOWN, rec.id, rec.string_id)
        self.reconciled = True
        if closed:
            self._update_siren("alarms closed after restart")
        await self.persist()
        return closed

    async def raised(self, e: AlarmRaised) -> AlarmRecord:
        if str(e.kind) not in _KNOWN_KINDS:  # refused before it is kept: no alarm without a title
            raise ValueError(
                f"AlarmRaised: unknown alarm kind {str(e.kind)!r} (UPS {e.ups_id}, string {e.string_id}, "
                f"cell {e.cell_index}); known: {', '.join(sorted(_KNOWN_KINDS))}"
            )
        rec, new = self._live.raised(e)
        self._confirmed.add(key_of(e))
        decision = switch_off_decision(e, new, self._switch_off_kinds, self._with_output)
        if decision.switch_off and e.string_id is not None:
            self._post(SetStringRelay(e.string_id, closed=False, reason=f"alarm #{rec.id}: {decision.reason}"))
        if new:
            self._post(rec.notice("raised"))
            self._writes.pending.alarm(rec)
        if decision.switch_off or (new and str(e.kind) in self._switch_off_kinds):
            action = "switch off string" if decision.switch_off else "no switch-off"
            self._log_action(action, decision.reason, rec.id, e.string_id)
        if new:
            self._update_siren(f"alarm #{rec.id} {rec.title} raised")
        await self.persist()
        return rec

    async def cleared(self, e: AlarmCleared) -> AlarmRecord | None:
        rec = self._live.cleared(e)
        if rec is None:
            return None
        self._post(rec.notice("cleared"))
        self._writes.pending.alarm(rec)
        self._update_siren(f"alarm #{rec.id} {rec.title} gone")
        await self.persist()
        return rec

    async def acknowledge(self, a: AcknowledgeAlarm) -> AlarmRecord | None:
        """Record who acknowledged; the first acknowledgement is kept. None: no such alarm."""
        rec = self._live.by_id(a.alarm_id) or self._writes.pending.queued_alarm(a.alarm_id)
        if rec is None:
            rec = await self._store.get(a.alarm_id)
        if rec is None:
            self._log_action("acknowledge refused", f"no alarm #{a.alarm_id} ({a.who})")
        elif rec.acknowledged_by is None:
            now = self._clock()
            rec = (
                self._live.acknowledged(rec.id, a.who, now)
                if rec.active
                else replace(rec, acknowledged_by=a.who, acknowledged_at=now)
            )
            self._post(rec.notice("acknowledged"))
            self._writes.pending.alarm(rec)
            self._log_action("acknowledge", f"by {a.who}", rec.id, rec.string_id)
            self._update_siren(f"alarm #{rec.id} acknowledged by {a.who}")
        await self.persist()
        return rec

    def _update_siren(self, why: str) -> None:
        on = siren_on(self._live.unacknowledged())
        if on == self._siren:
            return
        self._siren = on
        reason = f"{'an unacknowledged alarm is active' if on else 'no unacknowledged active alarm'} ({why})"
        self._post(SetSiren(on=on, reason=reason))
        self._log_action("siren on" if on else "siren off", reason)

    def _log_action(self, action: str, reason: str, alarm_id: int | None = None, string_id: str | None = None) -> None:
        self._writes.pending.action(ActionLine(self._clock(), action, reason, alarm_id, string_id))

    async def handle(self, message: Any) -> None:
        if isinstance(message, AlarmRaised):
            await self.raised(message)
        elif isinstance(message, AlarmCleared):
            await self.cleared(message)
        elif isinstance(message, AcknowledgeAlarm):
            await self.acknowledge(message)
        elif isinstance(message, RepublishActiveAlarms):
            await self.republish(message.subscriber)
        elif isinstance(message, LogAction):
            self._writes.pending.action(
                ActionLine(message.time, message.action, message.reason, string_id=message.string_id)
            )
            await self.persist()
        else:
            raise TypeError(f"AlarmBook.handle: unexpected {type(message).__name__}")


async def serve(
    book: AlarmBook, inputs: asyncio.Queue, reconcile_after_s: float, retry_writes_s: float = RETRY_WRITES_S
) -> None:
    """Start the book and handle the actor's messages until cancelled.

    A message whose handling fails is logged with the message and its traceback and skipped;
    a failed reconcile is retried `reconcile_after_s` (at least 1 s) later; writes settings.db
    refused are retried every `retry_writes_s`. Only start() may end this.
    """
    await book.start()
    reconcile_at = time.monotonic() + reconcile_after_s
    retry_at = time.monotonic() + retry_writes_s
    while True:
        deadlines = []
        if not book.reconciled:
            deadlines.append(reconcile_at)
        if book.writes_failing:
            deadlines.append(retry_at)
        item = None
        try:
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            item = await asyncio.wait_for(inputs.get(), timeout)
        except TimeoutError:
            pass
        if item is not None:
            try:
                await book.handle(item)
            except Exception:  # noqa: BLE001 - one bad message (a bug, a bad value) must not end the loop
                _log.error("alarm message not handled", message=repr(item), exc_info=True)
        now = time.monotonic()
        if not book.reconciled and now >= reconcile_at:
            try:
                await book.reconcile()
            except Exception:  # noqa: BLE001 - logged with its cause; the loop must outlive it
                _log.error("alarms not reconciled after the restart; retried later", exc_info=True)
                reconcile_at = now + max(reconcile_after_s, _RECONCILE_RETRY_MIN_S)
        if book.writes_failing and now >= retry_at:
            await book.persist(retry=True)
            retry_at = time.monotonic() + retry_writes_s
        elif not book.writes_failing:
            retry_at = now + retry_writes_s


async def open_store(settings_db: str | Path, reserve: SpaceReserve) -> AlarmStore:
    """Open the alarm tables; on a full disk give up the space reserve and try once more."""
    try:
        return await AlarmStore.open(settings_db)
    except Exception as error:
        if not (is_disk_full(error) and reserve.release()):
            raise
        _log.warning(
            "disk full at start: the alarm space reserve was given up to open settings.db", reserve=str(reserve.path)
        )
        return await AlarmStore.open(settings_db)


class AlarmManager(InitGate, ProtocolActor):
    """Protocol actor around AlarmBook (its asyncio thread owns the SQLite connection). Leaf.

    Messages before InitAlarmManager are held and replayed after it (InitGate)."""

    init_message = InitAlarmManager

    def __init__(self, capabilities=None, *args, **kwargs):
        super().__init__(capabilities, *args, **kwargs)
        self._inputs: asyncio.Queue | None = None

    def receiveMsg_InitAlarmManager(self, message: InitAlarmManager, sender: Address):
        if self._inputs is None:
            self.gateway = sender
            self._inputs = inputs = asyncio.Queue()

            async def main() -> None:
                reserve = SpaceReserve(
                    Path(message.settings_db).parent / RESERVE_FILE, message.topology.storage.alarm_reserve_mb << 20
                )
                store = await open_store(message.settings_db, reserve)
                book = AlarmBook(store, message.topology, self.post_command, message.switch_off_kinds, reserve=reserve)
                try:
                    await serve(book, inputs, message.reconcile_after_s)
                finally:
                    await store.close()

            self.start_loop(main)
        return self.watch()

    def _enqueue(self, item: Any) -> None:
        self.in_loop(self._inputs.put_nowait, item)

    def receiveMsg_LogAction(self, message: LogAction, sender: Address):
        self._enqueue(message)
        return self.watch()

    def receiveMsg_AlarmRaised(self, message: AlarmRaised, sender: Address):
        self._enqueue(message)
        return self.watch()

    def receiveMsg_AlarmCleared(self, message: AlarmCleared, sender: Address):
        self._enqueue(message)
        return self.watch()

    def receiveMsg_AcknowledgeAlarm(self, message: AcknowledgeAlarm, sender: Address):
        self._enqueue(message)
        return self.watch()

    def receiveMsg_RepublishActiveAlarms(self, message: RepublishActiveAlarms, sender: Address):
        self._enqueue(message)
        return self.watch()
