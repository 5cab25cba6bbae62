"""The alarm store and the alarm manager's engine on real SQLite files; restarts included."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import time

import pytest
from structlog.testing import capture_logs

from actors.messages.down import SetSiren
from actors.messages.service import RepublishActiveAlarms
from actors.site.alarm_manager import AlarmBook, SendTo, serve
from battery.alarms.kinds import AlarmLevel
from battery.alarms.records import AlarmNotice
from battery.commands import AcknowledgeAlarm, SetStringRelay
from storage.alarm_store import CLOSED_WHILE_DOWN, AlarmStore
from tests.factories import alarm_topology as topology
from tests.factories import book_alarm_store as _book
from tests.factories import cleared_alarm as cleared
from tests.factories import raised_alarm as raised


def test_raise_clear_ack_lifecycle_and_csv(tmp_path):
    async def run():
        posted: list = []
        store, book = await _book(tmp_path / "settings.db", posted)
        rec = await book.raised(raised())
        again = await book.raised(raised(t=150.0))
        assert again.id == rec.id and again.from_time == 100.0  # same alarm, no duplicate
        relays = [m for m in posted if isinstance(m, SetStringRelay)]
        assert relays == [relays[0]] and relays[0].string_id == "s1" and relays[0].closed is False
        assert [m.on for m in posted if isinstance(m, SetSiren)] == [False, True]
        await book.raised(raised(cell=6))  # second cell on s1: a new alarm, another switch-off command
        await book.raised(raised(string="s2"))  # s2 has no disconnect output: logged, no command
        assert len([m for m in posted if isinstance(m, SetStringRelay)]) == 2
        await book.acknowledge(AcknowledgeAlarm(rec.id, "admin"))
        await book.cleared(cleared())
        gone = await store.get(rec.id)
        assert gone.status == "gone" and gone.to_time == 200.0 and gone.acknowledged_by == "admin"
        assert [n.event for n in posted if isinstance(n, AlarmNotice)][-2:] == ["acknowledged", "cleared"]
        actions = [a.action for a in await store.actions()]
        assert "switch off string" in actions and "no switch-off" in actions and "acknowledge" in actions
        page = await store.page(string_id="s1", limit=1)
        assert page.total == 2 and len(page.rows) == 1 and page.rows[0].cell_index == 6  # newest first
        text = "".join([c async for c in store.csv_chunks(AlarmLevel.STRING, string_id="s1", chunk_rows=1)])
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["#", "Cell", "From", "To", "Alarm", "Status", "Acknowledged by"]
        assert [r[1] for r in rows[1:]] == ["#006", "#005"] and rows[2][4:7] == ["Voltage high", "gone", "admin"]
        site = "".join([c async for c in store.csv_chunks(AlarmLevel.SITE)])
        assert site.splitlines()[0].startswith("#,UPS,String,Cell") and len(site.splitlines()) == 4
        await store.close()

    asyncio.run(run())


def test_alarm_csv_never_carries_a_formula(tmp_path):
    """A token named -A1 (allowed by `btms token create`) acknowledges: its name is text in the CSV."""

    async def run():
        store, book = await _book(tmp_path / "settings.db", [])
        rec = await book.raised(raised())
        await book.acknowledge(AcknowledgeAlarm(rec.id, "-A1"))
        for level, where in ((AlarmLevel.SITE, {}), (AlarmLevel.STRING, {"string_id": "s1"})):
            text = "".join([c async for c in store.csv_chunks(level, labels={"u1": "=U1", "s1": "+S1"}, **where)])
            row = list(csv.reader(io.StringIO(text)))[1]
            assert row[-1] == "'-A1" and row[0] == str(rec.id)
            if level is AlarmLevel.SITE:
                assert row[1:3] == ["'=U1", "'+S1"]
        await store.close()

    asyncio.run(run())


def test_restart_keeps_true_alarms_and_closes_the_others(tmp_path):
    db = tmp_path / "settings.db"

    async def before():
        posted: list = []
        store, book = await _book(db, posted)
        await book.raised(raised(cell=1))
        await book.raised(raised(cell=2))
        await store.close()

    async def after():
        posted: list = []
        store, book = await _book(db, posted, clock=lambda: 5000.0)
        assert [m.on for m in posted if isinstance(m, SetSiren)] == [True]  # siren restored at start
        synced = [n for n in posted if isinstance(n, AlarmNotice)]  # the gateway fans these out
        assert [(n.event, n.cell_index, n.from_time) for n in synced] == [("active", 1, 100.0), ("active", 2, 100.0)]
        still = await book.raised(raised(cell=1, t=4990.0))  # still true after the restart
        closed = await book.reconcile()
        active = await store.active()
        assert [r.cell_index for r in active] == [1] and active[0].id == still.id and active[0].from_time == 100.0
        assert [r.cell_index for r in closed] == [2] and closed[0].close_reason == CLOSED_WHILE_DOWN
        assert not any(isinstance(m, SetStringRelay) for m in posted)  # no second switch-off
        assert [n.event for n in posted if isinstance(n, AlarmNotice)] == ["active", "active", "closed"]
        await store.close()

    asyncio.run(before())
    asyncio.run(after())
    with sqlite3.connect(db) as con:
        n = con.execute("SELECT COUNT(*) FROM alarms").fetchone()[0]
    assert n == 2


def test_database_refuses_a_second_active_row(tmp_path):
    async def run():
        store, book = await _book(tmp_path / "settings.db", [])
        await book.raised(raised())
        await store.close()

    asyncio.run(run())
    with sqlite3.connect(tmp_path / "settings.db") as con:
        try:
            con.execute(
                "INSERT INTO alarms (kind, detail, ups_id, string_id, cell_index, from_time)"
                " VALUES ('cell_voltage_high', '', 'u1', 's1', 5, 1)"
            )
        except sqlite3.IntegrityError as e:
            assert "UNIQUE" in str(e)
        else:
            raise AssertionError("a duplicate active alarm was accepted")


def test_republish_sends_each_active_alarm_to_the_subscriber_only(tmp_path):
    async def run():
        posted: list = []
        store, book = await _book(tmp_path / "settings.db", posted)
        first = await book.raised(raised(cell=1))
        await book.raised(raised(cell=2))
        await book.cleared(cleared(cell=2))
        await book.acknowledge(AcknowledgeAlarm(first.id, "admin"))
        posted.clear()
        await book.handle(RepublishActiveAlarms("web-server"))
        await store.close()
        return first, posted

    first, posted = asyncio.run(run())
    assert [type(m) for m in posted] == [SendTo]  # nothing to the gateway, no siren or relay change
    assert posted[0].target == "web-server"
    n = posted[0].message
    assert (n.event, n.alarm_id, n.cell_index, n.acknowledged_by, n.from_time) == (
        "active",
        first.id,
        1,
        "admin",
        100.0,
    )


def test_unknown_kind_is_refused_before_it_is_stored(tmp_path):
    async def run():
        posted: list = []
        store, book = await _book(tmp_path / "settings.db", posted)
        posted.clear()  # the start-up siren
        with pytest.raises(ValueError, match=r"unknown alarm kind 'cell_humidity_high' \(UPS u1, string s1, cell 5\)"):
            await book.raised(raised(kind="cell_humidity_high"))
        active = await store.active()
        await store.close()
        return active, posted

    active, posted = asyncio.run(run())
    assert active == [] and posted == []


async def _until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.01)  # yields to the loop under test; the deadline bounds the wait


def test_serve_logs_a_failing_message_and_keeps_serving(tmp_path):
    async def run():
        posted: list = []
        store = await AlarmStore.open(tmp_path / "settings.db")
        book = AlarmBook(store, topology(), posted.append, ("cell_voltage_high",), lambda: 1000.0)
        inputs: asyncio.Queue = asyncio.Queue()
        with capture_logs() as logs:
            task = asyncio.create_task(serve(book, inputs, reconcile_after_s=600))
            inputs.put_nowait("not an alarm message")  # TypeError in handle
            inputs.put_nowait(raised(kind="no_such_kind"))  # ValueError
            inputs.put_nowait(raised(cell=7))
            await _until(lambda: any(isinstance(m, AlarmNotice) for m in posted))
            alive = not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        await store.close()
        return posted, logs, alive

    posted, logs, alive = asyncio.run(run())
    assert alive
    assert [(n.event, n.cell_index) for n in posted if isinstance(n, AlarmNotice)] == [("raised", 7)]
    errors = [e for e in logs if e["log_level"] == "error"]
    assert [e["event"] for e in errors] == ["alarm message not handled"] * 2
    assert errors[0]["message"] == "'not an alarm message'" and "no_such_kind" in errors[1]["message"]


def test_a_locked_store_delays_the_write_never_the_alarm(tmp_path):
    """Another writer holds settings.db: the restart's close is published at once, stored later."""
    db = tmp_path / "settings.db"

    async def before():
        store, book = await _book(db, [])
        await book.raised(raised(cell=1))
        await store.close()

    asyncio.run(before())

    async def after():
        posted: list = []
        store = await AlarmStore.open(db)
        book = AlarmBook(store, topology(), posted.append, ("cell_voltage_high",), lambda: 5000.0)
        locker = sqlite3.connect(db, timeout=0)
        inputs: asyncio.Queue = asyncio.Queue()
        with capture_logs() as logs:
            await store._db.execute("PRAGMA busy_timeout = 0")
            locker.execute("BEGIN IMMEDIATE")  # holds the write lock: every write fails with "locked"
            task = asyncio.create_task(serve(book, inputs, reconcile_after_s=0.2, retry_writes_s=0.1))
            await _until(lambda: book.reconciled and book.writes_failing)
            closed_while_locked = [n.event for n in posted if isinstance(n, AlarmNotice)]
            inputs.put_nowait(raised(cell=2, t=5001.0))  # a new alarm is acted on at once, too
            await _until(lambda: len([n for n in posted if isinstance(n, AlarmNotice)]) == 3)
            stored_while_locked = [(r.cell_index, r.to_time) for r in await store.active()]
            locker.rollback()
            await _until(lambda: not book.unwritten)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        locker.close()
        active = await store.active()
        await store.close()
        return posted, closed_while_locked, stored_while_locked, active, logs

    posted, closed_while_locked, stored_while_locked, active, logs = asyncio.run(after())
    assert closed_while_locked == ["active", "closed"]
    assert [n.event for n in posted if isinstance(n, AlarmNotice)] == ["active", "closed", "raised"]
    assert stored_while_locked == [(1, None)]  # the database had not taken the close yet
    assert [(r.cell_index, r.from_time) for r in active] == [(2, 5001.0)]
    events = [e["event"] for e in logs if e["log_level"] in ("error", "warning")]
    assert events == [
        (
            "alarms not stored yet: settings.db refused the write; they are acted on from memory and "
            "written as soon as it takes them"
        ),
        "alarm writes taken again",
    ]
