"""Alarms never depend on the disk: the AlarmManager's engine on a real, full file system (tmpfs).

Whatever settings.db can take, an alarm is acted on at once from memory (notice, siren,
switch-off); the database gets it, in order, when there is room again; the space reserve
lets it write on a full disk; a queue that overflows keeps the newest state of what is active.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3

import pytest
from structlog.testing import capture_logs

from actors.messages.down import SetSiren
from actors.site.alarm_manager import AlarmBook
from battery.alarms.records import AlarmNotice
from battery.commands import AcknowledgeAlarm, SetStringRelay
from storage.alarm_store import END_NOT_STORED, AlarmStore
from storage.space_reserve import RESERVE_FILE, SpaceReserve
from tests.factories import alarm_topology as topology
from tests.factories import cleared_alarm as cleared
from tests.factories import raised_alarm as raised
from tests.support import fill_disk, small_disk

MIB = 1 << 20


@pytest.fixture
def disk(tmp_path):
    with small_disk(tmp_path / "disk", "8m") as path:
        yield path


def stored(db) -> list[tuple]:
    """The alarm table as another program sees it (read-only: works on a full disk)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return list(con.execute("SELECT id, cell_index, to_time, ack_by FROM alarms ORDER BY id"))


async def _book(db, posted, reserve=None, max_pending=10_000):
    store = await AlarmStore.open(db)
    book = AlarmBook(
        store,
        topology(),
        posted.append,
        ("cell_voltage_high",),
        lambda: 1000.0,
        reserve=reserve,
        max_pending=max_pending,
    )
    await book.start()
    return store, book


def test_an_alarm_raised_on_a_full_disk_is_acted_on_then_stored_when_space_returns(disk):
    db = disk / "settings.db"

    async def run():
        posted: list = []
        store, book = await _book(db, posted)  # no reserve: nothing can make room
        filler = fill_disk(disk)
        assert shutil.disk_usage(disk).free < 4096
        with capture_logs() as logs:
            rec = await book.raised(raised(cell=3))
        notices = [(n.event, n.alarm_id) for n in posted if isinstance(n, AlarmNotice)]
        sirens = [m.on for m in posted if isinstance(m, SetSiren)]
        relays = [m.string_id for m in posted if isinstance(m, SetStringRelay)]
        while_full = (stored(db), book.unwritten, [a.cell_index for a in book.active()])
        filler.unlink()
        written = await book.persist(retry=True)
        await store.close()
        return rec, notices, sirens, relays, while_full, written, logs

    rec, notices, sirens, relays, while_full, written, logs = asyncio.run(run())
    assert notices == [("raised", rec.id)] and sirens == [False, True] and relays == ["s1"]
    assert while_full[0] == [] and while_full[1] > 0 and while_full[2] == [3]
    assert any(e["event"].startswith("alarms not stored yet") and "full" in e["error"] for e in logs)
    assert written and stored(db) == [(rec.id, 3, None, None)]

    async def restart():  # a restarted manager knows it from the database: same number, still active
        posted: list = []
        store, _ = await _book(db, posted)
        await store.close()
        return [(n.event, n.alarm_id, n.cell_index) for n in posted if isinstance(n, AlarmNotice)]

    assert asyncio.run(restart()) == [("active", rec.id, 3)]


def test_the_reserve_is_given_up_so_alarms_are_stored_on_a_full_disk_and_made_again(disk):
    db = disk / "settings.db"
    reserve = SpaceReserve(disk / RESERVE_FILE, 1 * MIB)

    async def run():
        posted: list = []
        store, book = await _book(db, posted, reserve=reserve)
        made = reserve.present and (disk / RESERVE_FILE).stat().st_blocks * 512 >= MIB  # really allocated
        filler = fill_disk(disk)
        with capture_logs() as logs:
            rec = await book.raised(raised(cell=4))
        gone = not reserve.present
        rows_while_full = stored(db)
        filler.unlink()
        await book.cleared(cleared(cell=4))  # a write that succeeds makes the reserve again
        back = reserve.present
        await store.close()
        return rec, made, gone, rows_while_full, back, logs

    rec, made, gone, rows_while_full, back, logs = asyncio.run(run())
    assert made and gone and back
    assert rows_while_full == [(rec.id, 4, None, None)]  # written into the reserve's space at once
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "disk full: the alarm space reserve was given up to store the alarms"
    ]
    assert not any(e["log_level"] == "error" for e in logs)


def test_a_full_queue_keeps_the_newest_state_of_every_active_alarm(disk):
    db = disk / "settings.db"

    async def run():
        posted: list = []
        store, book = await _book(db, posted, max_pending=3)
        first = await book.raised(raised(cell=1))  # stored while there is room
        filler = fill_disk(disk)
        with capture_logs() as logs:
            await book.cleared(cleared(cell=1))  # its end is dropped from the full queue below...
            again = await book.raised(raised(cell=1, t=300.0))  # ...and the same alarm is raised again
            for cell in (2, 3, 4, 5):
                await book.raised(raised(cell=cell))
            await book.acknowledge(AcknowledgeAlarm(again.id, "ops"))
        dropped = [e for e in logs if e["event"].startswith("alarm writes dropped")]
        filler.unlink()
        assert await book.persist(retry=True)
        live = [(r.id, r.cell_index, r.acknowledged_by) for r in book.active()]
        await store.close()
        return first, again, live, dropped

    first, again, live, dropped = asyncio.run(run())
    assert len(dropped) == 1  # said once per overflow, not once per lost entry
    rows = stored(db)
    assert [(i, c, a) for i, c, t, a in rows if t is None] == live  # the database holds what is active now
    assert (again.id, 1, "ops") in live
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        reason = con.execute("SELECT close_reason FROM alarms WHERE id = ?", (first.id,)).fetchone()[0]
    assert reason == END_NOT_STORED  # its clear was the entry dropped first: the row says so


def test_a_start_on_a_full_disk_gives_up_the_reserve_to_open_settings_db(disk):
    from actors.site.alarm_manager import open_store

    reserve = SpaceReserve(disk / RESERVE_FILE, 1 * MIB)
    assert reserve.ensure()
    fill_disk(disk)

    async def run():
        with capture_logs() as logs:
            store = await open_store(disk / "settings.db", reserve)  # a new file: its tables need room
        await store.close()
        return logs

    logs = asyncio.run(run())
    assert not reserve.present
    assert [e["event"] for e in logs] == [
        "disk full at start: the alarm space reserve was given up to open settings.db"
    ]
    assert stored(disk / "settings.db") == []
