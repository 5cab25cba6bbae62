"""The AlarmManager: stores every alarm, switches strings off, drives the siren, logs actions.

Alarm events come up the tree (cell sensors via their string master, string masters, the
master controller's digital inputs) and reach this actor through the gateway. For each one it
- stores it (settings.db; a repeated raise of an active alarm is the same alarm),
- publishes an AlarmNotice to the gateway, which hands it to its subscribers (notifier, web,
  SNMP traps),
- opens the string's breaker (SetStringRelay closed=False) when a configured cell alarm is
  new and the topology gives the string a BM-LC disconnect output; only an operator closes it,
- switches the siren/warning light (SetSiren) to follow "any unacknowledged active alarm",
- writes each action with its reason to the action log.

A server that (re)subscribes learns the alarms already active: on RepublishActiveAlarms the
manager sends it one AlarmNotice(event="active") per active alarm, directly; after a restart
the book sends the same to the gateway, which fans them out. "active" is a state sync, so the
notifier and the trap sender ignore it.

One message that fails (a bug, a bad value, a full disk) is logged with its traceback and
skipped: the loop keeps serving, because an ended loop would drop every later alarm.

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
from typing import Any

import structlog

from actors.base.init_gate import InitGate
from actors.messages.address import Address
from actors.messages.down import InitAlarmManager, LogAction, SetSiren
from actors.messages.service import RepublishActiveAlarms
from battery.alarms.records import AlarmCleared, AlarmNotice, AlarmRaised
from battery.commands import AcknowledgeAlarm, SetStringRelay
from actors.base.protocol_actor import ProtocolActor, SendTo
from battery.alarms.kinds import AlarmKind
from battery.alarms.lifecycle import (
    AlarmKey,
    disconnect_strings,
    key_of,
    keys_to_close_after_restart,
    siren_on,
    switch_off_decision,
)
from storage.alarm_store import AlarmRecord, AlarmStore
from battery.site import Topology

_log = structlog.get_logger("gateway.alarms")
_KNOWN_KINDS = frozenset(k.value for k in AlarmKind)
_RECONCILE_RETRY_MIN_S = 1.0  # with reconcile_after_s = 0 a failing reconcile must not spin


class AlarmBook:
    """The alarm manager's engine. `post` sends a message to the gateway (from the loop)."""

    def __init__(
        self,
        store: AlarmStore,
        topology: Topology,
        post: Callable[[Any], None],
        switch_off_kinds: tuple[str, ...],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._post = post
        self._switch_off_kinds = tuple(str(k) for k in switch_off_kinds)
        self._with_output = disconnect_strings(topology)
        self._clock = clock
        self._siren: bool | None = None
        self._active_at_start: list[AlarmKey] = []
        self._confirmed: set[AlarmKey] = set()
        self.reconciled = False

    async def start(self) -> list[AlarmRecord]:
        """Load what was active before the (re)start, tell the gateway (event "active", which it
        fans out to every subscriber) and set the siren to match."""
        active = await self._store.active()
        self._active_at_start = [r.key for r in active]
        for notice in self._active_notices(active):
            self._post(notice)
        await self._update_siren("start-up")
        return active

    async def republish(self, subscriber: Address) -> int:
        """Send one AlarmNotice(event="active") per active alarm to `subscriber` only; returns how many."""
        notices = self._active_notices(await self._store.active())
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
            rec = await self._store.close_while_down(key, self._clock())
            if rec is not None:
                closed.append(rec)
                self._post(rec.notice("closed"))
                await self._store.log_action(self._clock(), "close", "cleared while the gateway was down", rec.id,
                                             rec.string_id)
        self.reconciled = True
        if closed:
            await self._update_siren("alarms closed after restart")
        return closed

    async def raised(self, e: AlarmRaised) -> AlarmRecord:
        if str(e.kind) not in _KNOWN_KINDS:  # refused before it is stored: no row without a title
            raise ValueError(
                f"AlarmRaised: unknown alarm kind {str(e.kind)!r} (UPS {e.ups_id}, string {e.string_id}, "
                f"cell {e.cell_index}); known: {', '.join(sorted(_KNOWN_KINDS))}"
            )
        rec, new = await self._store.raise_alarm(e)
        self._confirmed.add(key_of(e))
        decision = switch_off_decision(e, new, self._switch_off_kinds, self._with_output)
        if decision.switch_off and e.string_id is not None:
            self._post(SetStringRelay(e.string_id, closed=False, reason=f"alarm #{rec.id}: {decision.reason}"))
        if new:
            self._post(rec.notice("raised"))
        if decision.switch_off or (new and str(e.kind) in self._switch_off_kinds):
            action = "switch off string" if decision.switch_off else "no switch-off"
            await self._store.log_action(self._clock(), action, decision.reason, rec.id, e.string_id)
        if new:
            await self._update_siren(f"alarm #{rec.id} {rec.title} raised")
        return rec

    async def cleared(self, e: AlarmCleared) -> AlarmRecord | None:
        rec = await self._store.clear_alarm(e)
        if rec is None:
            return None
        self._post(rec.notice("cleared"))
        await self._update_siren(f"alarm #{rec.id} {rec.title} gone")
        return rec

    async def acknowledge(self, a: AcknowledgeAlarm) -> AlarmRecord | None:
        rec = await self._store.acknowledge(a.alarm_id, a.who, self._clock())
        if rec is None:
            await self._store.log_action(self._clock(), "acknowledge refused", f"no alarm #{a.alarm_id} ({a.who})")
            return None
        if rec.acknowledged_by == a.who:
            self._post(rec.notice("acknowledged"))
            await self._store.log_action(self._clock(), "acknowledge", f"by {a.who}", rec.id, rec.string_id)
            await self._update_siren(f"alarm #{rec.id} acknowledged by {a.who}")
        return rec

    async def _update_siren(self, why: str) -> None:
        on = siren_on(await self._store.count_active_unacknowledged())
        if on == self._siren:
            return
        self._siren = on
        reason = f"{'an unacknowledged alarm is active' if on else 'no unacknowledged active alarm'} ({why})"
        self._post(SetSiren(on=on, reason=reason))
        await self._store.log_action(self._clock(), "siren on" if on else "siren off", reason)

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
            await self._store.log_action(message.time, message.action, message.reason, string_id=message.string_id)
        else:
            raise TypeError(f"AlarmBook.handle: unexpected {type(message).__name__}")


async def serve(book: AlarmBook, inputs: asyncio.Queue, reconcile_after_s: float) -> None:
    """Start the book and handle the actor's messages until cancelled.

    A message whose handling fails is logged with the message and its traceback and skipped;
    a failed reconcile is retried `reconcile_after_s` (at least 1 s) later. Only start() may end this.
    """
    await book.start()
    reconcile_at = time.monotonic() + reconcile_after_s
    while True:
        if not book.reconciled:
            try:
                item = await asyncio.wait_for(inputs.get(), max(0.0, reconcile_at - time.monotonic()))
            except TimeoutError:
                try:
                    await book.reconcile()
                except Exception:  # noqa: BLE001 - logged with its cause; the loop must outlive it
                    _log.error("alarms not reconciled after the restart; retried later", exc_info=True)
                    reconcile_at = time.monotonic() + max(reconcile_after_s, _RECONCILE_RETRY_MIN_S)
                continue
        else:
            item = await inputs.get()
        try:
            await book.handle(item)
        except Exception:  # noqa: BLE001 - one bad message (a bug, a bad value, a full disk) must not end the loop
            _log.error("alarm message not handled", message=repr(item), exc_info=True)


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
                store = await AlarmStore.open(message.settings_db)
                book = AlarmBook(store, message.topology, self.post_command, message.switch_off_kinds)
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

