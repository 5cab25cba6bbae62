"""The web's alarm table: settings.db's rows with the AlarmManager's newer announcements laid over.

While the disk is full the manager announces alarms that have no row yet and changes that the
rows do not show; the API must list them as the manager sees them, in number order, on every page.
"""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3

from battery.alarms.kinds import AlarmLevel
from battery.alarms.records import AlarmNotice
from battery.commands import AcknowledgeAlarm
from storage.alarm_store import AlarmStore
from tests.factories import book_alarm_store as _book
from tests.factories import cleared_alarm as cleared
from tests.factories import raised_alarm as raised
from web.live_alarms import AlarmView, AnnouncedAlarms


def _site(tmp_path):
    """Six alarms stored (#1..#6), then, as if the disk had filled: #7..#9 raised, #2 cleared and
    #4 acknowledged with no row changed. Returns the view and what the manager announced."""

    async def build():
        posted: list = []
        store, book = await _book(tmp_path / "settings.db", posted)
        for cell in range(1, 7):
            await book.raised(raised(cell=cell, string="s1" if cell % 2 else "s2"))
        await store.close()
        announced: list = []
        store, book = await _book(tmp_path / "settings.db", announced)
        await store._db.execute("PRAGMA busy_timeout = 0")
        locker = sqlite3.connect(tmp_path / "settings.db", timeout=0)
        locker.execute("BEGIN IMMEDIATE")  # another writer holds the file: nothing is written from here
        for cell in range(7, 10):
            await book.raised(raised(cell=cell, string="s1" if cell % 2 else "s2"))
        await book.cleared(cleared(cell=2, string="s2"))
        await book.acknowledge(AcknowledgeAlarm(4, "ops"))
        assert book.writes_failing and len(await store.existing_ids(range(1, 20))) == 6
        locker.rollback()
        locker.close()
        await store.close()
        return [n for n in announced if isinstance(n, AlarmNotice)]

    return asyncio.run(build())


def _expected(notices, string=None, active_only=False):
    """What the manager knows, newest first: every alarm's last announcement."""
    last = {}
    for n in notices:
        last[n.alarm_id] = n
    rows = [n for n in last.values() if string is None or n.string_id == string]
    if active_only:
        rows = [n for n in rows if n.to_time is None]
    return [(n.alarm_id, n.to_time is None, n.acknowledged_by) for n in sorted(rows, key=lambda n: -n.alarm_id)]


def test_pages_list_announced_alarms_by_number_whatever_is_stored(tmp_path):
    notices = _site(tmp_path)

    async def pages():
        live = AnnouncedAlarms()
        for n in notices:
            live.apply(n)
        view = AlarmView(await AlarmStore.open(tmp_path / "settings.db"), live)
        got = {}
        for string in (None, "s1", "s2"):
            for active_only in (False, True):
                for offset in range(11):
                    for limit in (1, 2, 3, 50):
                        page = await view.page(string_id=string, offset=offset, limit=limit, active_only=active_only)
                        got[(string, active_only, offset, limit)] = (
                            [(r.id, r.active, r.acknowledged_by) for r in page.rows],
                            page.total,
                        )
        one, csv_text = await view.get(9), "".join([c async for c in view.csv_chunks(AlarmLevel.SITE)])
        await view.store.close()
        return got, one, csv_text

    got, one, csv_text = asyncio.run(pages())
    for (string, active_only, offset, limit), (rows, total) in got.items():
        expected = _expected(notices, string, active_only)
        assert rows == expected[offset : offset + limit], (string, active_only, offset, limit)
        assert total == len(expected), (string, active_only, offset, limit)
    assert one is not None and one.cell_index == 9 and one.active  # an alarm with no row yet
    table = list(csv.reader(io.StringIO(csv_text)))
    assert [int(r[0]) for r in table[1:]] == [9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert {int(r[0]): (r[7], r[8]) for r in table[1:]}[2] == ("gone", "")
    assert {int(r[0]): (r[7], r[8]) for r in table[1:]}[4] == ("active", "ops")
