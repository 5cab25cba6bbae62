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

After a restart the rules raise what is still true again (same alarm, no duplicate); alarms
stored as active that nobody raises again within `reconcile_after_s` cleared while the
gateway was down and are closed.

The work runs in the actor's asyncio thread because the store is aiosqlite; `AlarmBook` is
that engine and is tested without actors.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import structlog

from actors.messages import (
    AcknowledgeAlarm,
    Address,
    AlarmCleared,
    AlarmRaised,
    InitAlarmManager,
    SetSiren,
    SetStringRelay,
)
from actors.protocol_actor import ProtocolActor
from actors.site.alarms.lifecycle import (
    AlarmKey,
    disconnect_strings,
    key_of,
    keys_to_close_after_restart,
    siren_on,
    switch_off_decision,
)
from actors.site.alarms.store import AlarmRecord, AlarmStore
from actors.topology.model import Topology


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
        """Load what was active before the (re)start and set the siren to match it."""
        active = await self._store.active()
        self._active_at_start = [r.key for r in active]
        await self._update_siren("start-up")
        return active

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
        else:
            raise TypeError(f"AlarmBook.handle: unexpected {type(message).__name__}")


class AlarmManager(ProtocolActor):
    """Protocol actor around AlarmBook (its asyncio thread owns the SQLite connection). Leaf."""

    def __init__(self, capabilities=None, *args, **kwargs):
        super().__init__(capabilities, *args, **kwargs)
        self._inputs: asyncio.Queue | None = None
        self._early: list[Any] = []

    def receiveMsg_InitAlarmManager(self, message: InitAlarmManager, sender: Address):
        if self._inputs is None:
            self.gateway = sender
            self._inputs = inputs = asyncio.Queue()

            async def main() -> None:
                store = await AlarmStore.open(message.settings_db)
                book = AlarmBook(store, message.topology, self.post_command, message.switch_off_kinds)
                try:
                    await book.start()
                    reconcile_at = time.monotonic() + message.reconcile_after_s
                    while True:
                        if not book.reconciled:
                            timeout = max(0.0, reconcile_at - time.monotonic())
                            try:
                                item = await asyncio.wait_for(inputs.get(), timeout)
                            except asyncio.TimeoutError:
                                await book.reconcile()
                                continue
                        else:
                            item = await inputs.get()
                        try:
                            await book.handle(item)
                        except sqlite3.Error:  # a full disk or a locked file: report, keep serving
                            structlog.get_logger("gateway.alarms").error(
                                "alarm not stored", message=repr(item), exc_info=True
                            )
                finally:
                    await store.close()

            self.start_loop(main)
            for item in self._early:
                self.in_loop(inputs.put_nowait, item)
            self._early.clear()
        return self.watch()

    def _enqueue(self, item: Any) -> None:
        if self._inputs is None:
            self._early.append(item)  # held until InitAlarmManager (THESPIAN.md §1)
        else:
            self.in_loop(self._inputs.put_nowait, item)

    def receiveMsg_AlarmRaised(self, message: AlarmRaised, sender: Address):
        self._enqueue(message)
        return self.watch()

    def receiveMsg_AlarmCleared(self, message: AlarmCleared, sender: Address):
        self._enqueue(message)
        return self.watch()

    def receiveMsg_AcknowledgeAlarm(self, message: AcknowledgeAlarm, sender: Address):
        self._enqueue(message)
        return self.watch()
