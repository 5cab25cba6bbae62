"""The alarms as the AlarmManager last announced them, laid over the alarm table of settings.db.

The AlarmManager acts on alarms from memory and writes them to settings.db when the disk lets
it (docs/alarms.md). Its AlarmNotices are therefore the newest truth, and the table may lag:
an alarm raised on a full disk is in no row yet, one acknowledged or cleared then still shows
its old row. The web server keeps the latest notice of every alarm it heard of (on subscribing
it hears of every active one) and answers from both: a stored row is replaced by the newer
announced state, and announced alarms with no row yet are listed where their number puts them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from datetime import tzinfo

from battery.alarms.active import ENDING_EVENTS, is_active
from battery.alarms.kinds import AlarmLevel
from battery.alarms.records import AlarmNotice
from storage.alarm_filter import AlarmFilter
from storage.alarm_store import AlarmPage, AlarmRecord, AlarmStore

MAX_REMEMBERED = 5_000  # alarms whose latest notice is kept (the active ones are kept first)
_ACTIVE_LIMIT = 10_000  # active alarms read from the table at most (store.page's bound)


class AnnouncedAlarms:
    """The latest announced state of each alarm, as table rows."""

    def __init__(self, max_remembered: int = MAX_REMEMBERED) -> None:
        self._by_id: OrderedDict[int, AlarmRecord] = OrderedDict()
        self.max_remembered = max_remembered

    def apply(self, n: AlarmNotice) -> None:
        before = self._by_id.pop(n.alarm_id, None)
        ending = n.event in ENDING_EVENTS
        active = is_active(n)
        self._by_id[n.alarm_id] = AlarmRecord(
            id=n.alarm_id,
            kind=n.kind,
            detail=n.detail,
            ups_id=n.ups_id,
            string_id=n.string_id,
            cell_index=n.cell_index,
            value=before.value if before is not None and ending else n.value,  # a clear's value is its clear value
            limit=n.limit,
            from_time=n.from_time,
            to_time=None if active else (n.to_time or n.from_time),
            clear_value=n.value if ending else (before.clear_value if before else None),
            close_reason=before.close_reason if before else None,
            acknowledged_by=n.acknowledged_by,
            acknowledged_at=n.acknowledged_at,
        )
        self._forget_oldest()

    def _forget_oldest(self) -> None:
        while len(self._by_id) > self.max_remembered:
            gone = next((i for i, r in self._by_id.items() if not r.active), next(iter(self._by_id)))
            del self._by_id[gone]

    def get(self, alarm_id: int) -> AlarmRecord | None:
        return self._by_id.get(alarm_id)

    def over(self, stored: AlarmRecord) -> AlarmRecord:
        """The newer announced state of a stored row, if there is one."""
        return self._by_id.get(stored.id, stored)

    def matching(self, wanted: AlarmFilter) -> list[AlarmRecord]:
        """Newest first, as the tables list them."""
        return sorted((r for r in self._by_id.values() if wanted.matches(r)), key=lambda r: r.id, reverse=True)


class AlarmView:
    """The alarm table with the announced alarms laid over it (reads only; the AlarmManager writes)."""

    def __init__(self, store: AlarmStore, live: AnnouncedAlarms) -> None:
        self.store = store
        self.live = live

    async def get(self, alarm_id: int) -> AlarmRecord | None:
        found = self.live.get(alarm_id)
        return found if found is not None else await self.store.get(alarm_id)

    async def _unsaved(self, wanted: AlarmFilter) -> list[AlarmRecord]:
        """Announced alarms with no row yet, newest first."""
        live = self.live.matching(wanted)
        stored = await self.store.existing_ids([r.id for r in live])
        return [r for r in live if r.id not in stored]

    async def page(self, *, offset: int = 0, limit: int = 10, active_only: bool = False, **criteria) -> AlarmPage:
        """`criteria`: AlarmFilter's fields (ups_id, string_id, kind, since, until)."""
        wanted = AlarmFilter(**criteria)
        if active_only:
            return await self._active_page(wanted, offset, limit)
        unsaved = await self._unsaved(wanted)
        if not unsaved:
            page = await self.store.page(offset=offset, limit=limit, **criteria)
            return AlarmPage(tuple(self.live.over(r) for r in page.rows), page.total)
        # Rows [offset, offset + limit) of the merged list (by number, newest first) come from the
        # stored rows [offset - len(unsaved), offset + limit): each stored row moves down by the
        # unsaved alarms numbered above it, each unsaved one sits under the stored rows above it.
        start = max(0, offset - len(unsaved))
        window = await self.store.page(offset=start, limit=limit + len(unsaved), **criteria)
        placed = [
            (start + i + sum(1 for u in unsaved if u.id > r.id), self.live.over(r)) for i, r in enumerate(window.rows)
        ]
        for above, u in enumerate(unsaved):
            placed.append((await self.store.count_newer(u.id, **criteria) + above, u))
        rows = tuple(r for position, r in sorted(placed, key=lambda p: p[0]) if offset <= position < offset + limit)
        return AlarmPage(rows, window.total + len(unsaved))

    async def _active_page(self, wanted: AlarmFilter, offset: int, limit: int) -> AlarmPage:
        stored = await self.store.page(active_only=True, limit=_ACTIVE_LIMIT, **_criteria(wanted))
        rows = {r.id: self.live.over(r) for r in stored.rows}
        rows.update({r.id: r for r in self.live.matching(wanted)})
        active = sorted((r for r in rows.values() if r.active and wanted.matches(r)), key=lambda r: r.id, reverse=True)
        return AlarmPage(tuple(active[offset : offset + limit]), len(active))

    async def csv_chunks(
        self, level: AlarmLevel, *, labels: Mapping[str, str] | None = None, zone: tzinfo | None = None, **criteria
    ) -> AsyncIterator[str]:
        unsaved = await self._unsaved(AlarmFilter(**criteria))
        async for chunk in self.store.csv_chunks(
            level, labels=labels, replace=self.live.over, unsaved=unsaved, zone=zone, **criteria
        ):
            yield chunk


def _criteria(wanted: AlarmFilter) -> dict:
    return {name: getattr(wanted, name) for name in AlarmFilter.__dataclass_fields__}
