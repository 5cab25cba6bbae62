"""The alarm writes settings.db has not taken yet: in order, bounded, newest state kept.

The AlarmManager acts on an alarm from memory (live.py) and then queues what the database must
learn: the alarm's row (its whole newest state) and the action-log lines. The queue is flushed
in order; while the disk is full or the file locked it keeps growing up to `max_pending`
entries, and every change of an alarm that is already queued replaces that entry in place (its
position is kept, so a clear is still written before a later raise of the same alarm).

When the queue is full the oldest entry is dropped, counted and logged, and `resync_needed` is
set: before the next write the database is brought to the newest state of every active alarm
(AlarmStore.resync), so what is lost is history, never what is active now.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict

import structlog

from storage.alarm_store import ActionLine, AlarmRecord

_log = structlog.get_logger("gateway.alarms")

DEFAULT_MAX_PENDING = 10_000


Entry = AlarmRecord | ActionLine


class PendingWrites:
    def __init__(self, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        if max_pending < 1:
            raise ValueError(f"pending alarm writes: max_pending must be >= 1, got {max_pending}")
        self.max_pending = max_pending
        self._queue: OrderedDict[tuple[str, int], Entry] = OrderedDict()
        self._action_no = itertools.count()
        self.dropped = 0  # entries dropped since start because the queue was full
        self.resync_needed = False

    def alarm(self, rec: AlarmRecord) -> None:
        """Queue the newest state of an alarm's row (replacing an older queued state in place)."""
        key = ("alarm", rec.id)
        self._queue[key] = rec  # an existing key keeps its position
        self._trim()

    def action(self, line: ActionLine) -> None:
        self._queue[("action", next(self._action_no))] = line
        self._trim()

    def _trim(self) -> None:
        while len(self._queue) > self.max_pending:
            _, lost = self._queue.popitem(last=False)
            if not self.resync_needed:
                _log.error(
                    "alarm writes dropped: settings.db has not taken them and the queue is full; the newest "
                    "state of every active alarm is written when it can be, older history is lost",
                    max_pending=self.max_pending,
                    first_dropped=repr(lost),
                )
            self.dropped += 1
            self.resync_needed = True

    def first(self, n: int) -> list[tuple[tuple[str, int], Entry]]:
        """Up to n entries from the front, oldest first."""
        return list(itertools.islice(self._queue.items(), n))

    def written(self, entries: list[tuple[tuple[str, int], Entry]]) -> None:
        """Forget entries the database took, unless a newer state replaced one meanwhile."""
        for key, entry in entries:
            if self._queue.get(key) is entry:
                del self._queue[key]

    def queued_alarm(self, alarm_id: int) -> AlarmRecord | None:
        entry = self._queue.get(("alarm", alarm_id))
        return entry if isinstance(entry, AlarmRecord) else None

    def __len__(self) -> int:
        return len(self._queue)
