"""The alarm store and the alarm manager's engine on real SQLite files; restarts included."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3

from actors.messages import AcknowledgeAlarm, AlarmCleared, AlarmNotice, AlarmRaised, SetSiren, SetStringRelay
from actors.site.alarm_manager import AlarmBook
from actors.site.alarms.kinds import AlarmLevel
from actors.site.alarms.store import CLOSED_WHILE_DOWN, AlarmStore
from actors.topology.model import (
    BatteryType,
    BusConfig,
    GatewayConfig,
    IoModuleConfig,
    MasterControllerConfig,
    OutputConfig,
    StringConfig,
    Topology,
    UpsConfig,
)


def topology() -> Topology:
    strings = tuple(
        StringConfig(id=f"s{i}", index=i, name=f"String {i}", ups_id="u1", bus="b1", address=i,
                     battery=BatteryType(12, 100.0, 20), hall_range_a=200, climate_sensor=False)
        for i in (1, 2)
    )
    mc = MasterControllerConfig(
        bus="b1", address=50, io_modules=(IoModuleConfig("lc1", 60),),
        outputs=(OutputConfig("lc1", 1, "disconnect", "s1"), OutputConfig("lc1", 8, "siren")),
    )
    return Topology(gateway=GatewayConfig("gw", "Test"), buses=(BusConfig("b1", "sim://b1"),),
                    upses=(UpsConfig("u1", 1, "UPS 1", strings),), master_controller=mc)


def raised(kind="cell_voltage_high", string="s1", cell=5, t=100.0) -> AlarmRaised:
    return AlarmRaised(kind, "u1", string, cell, 15000, 14700, t)


def cleared(kind="cell_voltage_high", string="s1", cell=5, t=200.0) -> AlarmCleared:
    return AlarmCleared(kind, "u1", string, cell, 14000, 14700, t)


async def _book(path, posted, clock=lambda: 1000.0):
    store = await AlarmStore.open(path)
    book = AlarmBook(store, topology(), posted.append, ("cell_voltage_high", "cell_temperature_high"), clock)
    await book.start()
    return store, book


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
        still = await book.raised(raised(cell=1, t=4990.0))  # still true after the restart
        closed = await book.reconcile()
        active = await store.active()
        assert [r.cell_index for r in active] == [1] and active[0].id == still.id and active[0].from_time == 100.0
        assert [r.cell_index for r in closed] == [2] and closed[0].close_reason == CLOSED_WHILE_DOWN
        assert not any(isinstance(m, SetStringRelay) for m in posted)  # no second switch-off
        assert [n.event for n in posted if isinstance(n, AlarmNotice)] == ["closed"]
        await store.close()

    asyncio.run(before())
    asyncio.run(after())
    with sqlite3.connect(db) as con:
        n = con.execute("SELECT COUNT(*) FROM alarms").fetchone()[0]
    assert n == 2


def test_database_refuses_a_second_active_row(tmp_path):
    async def run():
        store = await AlarmStore.open(tmp_path / "settings.db")
        await store.raise_alarm(raised())
        await store.close()

    asyncio.run(run())
    with sqlite3.connect(tmp_path / "settings.db") as con:
        try:
            con.execute("INSERT INTO alarms (kind, detail, ups_id, string_id, cell_index, from_time)"
                        " VALUES ('cell_voltage_high', '', 'u1', 's1', 5, 1)")
        except sqlite3.IntegrityError as e:
            assert "UNIQUE" in str(e)
        else:
            raise AssertionError("a duplicate active alarm was accepted")
