"""Writer, compaction, retention and queries on real SQLite files in a temporary directory."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from pathlib import Path

import pytest

from battery.codes import ChargeState
from storage.history import schema
from storage.history.compactor import compact_day
from storage.history.discharge_figures import FROM_DETECTOR, FROM_SCANS
from storage.history.disk_alarm import HistoryDiskAlarm
from storage.history.export_csv import csv_chunks
from storage.history.reader import HistoryQueries, HistoryReader, UnknownItem
from storage.history.retention import RetentionPolicy
from storage.history.writer import HistoryWriter
from tests.factories import DAY, T0, make_status


def _writer(d: Path, **kw: object) -> HistoryWriter:
    kw.setdefault("commit_interval_s", 3600)
    kw.setdefault("housekeeping_interval_s", 1e9)
    kw.setdefault("compact", False)
    return HistoryWriter(d, **kw)  # type: ignore[arg-type]


async def _write_day(w: HistoryWriter, day_start: float, step: float = 60.0, strings: int = 2) -> None:
    rng = random.Random(int(day_start))
    for i in range(int(DAY / step)):
        ts = day_start + i * step
        for s in range(1, strings + 1):
            state = ChargeState.DISCHARGE if s == 1 and 600 <= i < 630 else ChargeState.FLOAT
            w.submit_string(
                make_status(
                    f"S{s}",
                    s,
                    ts,
                    stale=(s == 2 and i == 5),
                    state=state,
                    current_a=-20.0 if state == ChargeState.DISCHARGE else 0.2,
                    rng=rng,
                )
            )
    await w.flush()


def test_hot_and_cold_answer_the_same(tmp_path: Path) -> None:
    async def main() -> None:
        w = _writer(tmp_path)
        await w.open()
        await _write_day(w, T0)
        await _write_day(w, T0 + DAY)
        await w.close()
        q = HistoryQueries(tmp_path)
        hot_series = q.series("cell", "S1/2", "voltage", T0, T0 + DAY, 48)
        hot_snap = q.string_snapshot("S1", T0 + 3 * 3600 + 5)
        result = compact_day(tmp_path, schema.day_of(T0))
        assert (result.strings, result.cells, result.scans) == (2, 8, 2 * 1440)
        schema.hot_path(tmp_path, schema.day_of(T0)).unlink()  # only the cold tier is left
        assert q.series("cell", "S1/2", "voltage", T0, T0 + DAY, 48) == hot_series
        assert q.string_snapshot("S1", T0 + 3 * 3600 + 5) == hot_snap
        assert hot_snap is not None and hot_snap["time"] == "2024-10-04T03:00:00.000+00:00"
        assert hot_snap["cells"][1]["resistance"] == pytest.approx(4.002)
        assert len(hot_series) == 48 and all(13.499 <= p[1] <= p[3] <= 13.501 for p in hot_series)
        # a year-long range uses hourly summaries and stays bounded
        year = q.series("string", "S1", "current", T0 - 300 * DAY, T0 + 2 * DAY, 500)
        assert 0 < len(year) <= 500
        assert min(p[1] for p in year) == pytest.approx(-20.0)

    asyncio.run(main())


def test_stale_data_never_looks_like_a_value(tmp_path: Path) -> None:
    async def main() -> None:
        w = _writer(tmp_path)
        await w.open()
        w.submit_string(make_status("S1", 1, T0, stale=True))
        w.submit_string(make_status("S1", 1, T0 + 10, no_response=(2,)))
        await w.close()
        q = HistoryQueries(tmp_path)
        stale = q.string_snapshot("S1", T0 + 5)
        assert stale is not None and stale["stale"] and stale["values"]["voltage"] is None
        assert [c["voltage"] for c in stale["cells"]] == [None] * 4
        snap = q.string_snapshot("S1", T0 + 10)
        assert snap is not None and snap["cells"][1]["voltage"] is None and snap["cells"][0]["voltage"] > 13
        rows = "".join(csv_chunks(q, "cells", T0, T0 + 20, string="S1")).split("\r\n")
        assert rows[1].startswith("2024-10-04T00:00:00.000+00:00,U1,S1,1,STALE,NO_RESPONSE,,,,,")
        assert rows[4].startswith("2024-10-04T00:00:00.000+00:00,U1,S1,4,STALE,NO_RESPONSE,,")
        assert rows[6].startswith("2024-10-04T00:00:10.000+00:00,U1,S1,2,STALE,NO_RESPONSE,,")
        compact_day(tmp_path, schema.day_of(T0))
        schema.hot_path(tmp_path, schema.day_of(T0)).unlink()
        again = "".join(csv_chunks(q, "cells", T0, T0 + 20, string="S1")).split("\r\n")
        assert again == rows

    asyncio.run(main())


def test_discharge_events_listed_and_plotted(tmp_path: Path) -> None:
    async def main() -> None:
        w = _writer(tmp_path)
        await w.open()
        await _write_day(w, T0)
        await w.close()
        r = HistoryReader(tmp_path)
        (event,) = await r.discharge_events(ups_id="U1")
        assert (event.id, event.ups_id, event.string_id) == (1, "U1", "S1")
        assert (event.start, event.end, event.figures.duration_s) == (T0 + 600 * 60, T0 + 630 * 60, 30 * 60)
        # No detector figures were stored (no discharge_ended): recounted, 30 minutes at 20 A.
        assert event.source == FROM_SCANS and event.figures.ah == pytest.approx(10.0)
        assert await r.discharge_events(string_id="S2") == []
        pts = await r.discharge_event_series(1, "current", max_points=1000)
        assert len(pts) == 30 and all(p[2] == pytest.approx(-20.0) for p in pts)
        cell = await r.discharge_event_series(1, "temperature", cell=4)
        assert cell and cell[0][2] == pytest.approx(25.0)
        with pytest.raises(UnknownItem, match="no discharge event 99"):
            await r.discharge_event_series(99, "current")

    asyncio.run(main())


def test_unknown_names_are_clear_errors(tmp_path: Path) -> None:
    async def main() -> None:
        w = _writer(tmp_path)
        await w.open()
        w.submit_string(make_status())
        await w.close()
        q = HistoryQueries(tmp_path)
        with pytest.raises(UnknownItem, match="no string 'nope'"):
            q.series("string", "nope", "voltage", T0, T0 + 10, 10)
        with pytest.raises(UnknownItem, match="no cell 9"):
            q.series("cell", "S1/9", "voltage", T0, T0 + 10, 10)
        with pytest.raises(UnknownItem, match="no cell quantity 'volts'"):
            q.series("cell", "S1/1", "volts", T0, T0 + 10, 10)
        with pytest.raises(UnknownItem, match="no UPS 'U9'"):
            q.series("ups", "U9", "voltage", T0, T0 + 10, 10)

    asyncio.run(main())


def test_retention_over_simulated_months(tmp_path: Path) -> None:
    """75 days at one scan per 30 min, 40-day retention: old months and hot days go, the rest answers."""

    async def main() -> None:
        policy = RetentionPolicy(retention_days=40, hot_days=2, min_free_mb=0, compaction_grace_s=0)
        w = _writer(tmp_path, policy=policy)
        await w.open()
        first_day = schema.day_of(T0)
        for n in range(75):
            day_start = T0 + n * DAY
            for i in range(48):
                st = ChargeState.DISCHARGE if i == 10 else ChargeState.FLOAT
                w.submit_string(make_status("S1", 1, day_start + i * 1800, state=st))
            await w.flush()
            if n:
                compact_day(tmp_path, first_day + n - 1)  # what the child process does
            await w.housekeeping()
        await w.close()
        today = first_day + 74
        hot = schema.hot_days_on_disk(tmp_path)
        assert hot == [today - 1, today]
        months = [m for m, _ in schema.cold_months_on_disk(tmp_path)]
        assert months[0] == schema.month_name(today - 39)  # every earlier month was deleted
        q = HistoryQueries(tmp_path)
        kept = q.series("cell", "S1/1", "resistance", (today - 39) * DAY, (today + 1) * DAY, 40)
        assert len(kept) == 40 and all(p[2] == pytest.approx(4.001) for p in kept)
        assert q.series("cell", "S1/1", "resistance", T0, T0 + DAY, 10) == []
        events = q.discharge_events()
        assert min(e.start for e in events) >= (today - 39) * DAY
        assert len(events) == 40

    asyncio.run(main())


def test_disk_floor_deletes_oldest_and_raises_alarm(tmp_path: Path) -> None:
    async def main() -> None:
        alarms: list[HistoryDiskAlarm] = []
        policy = RetentionPolicy(min_free_mb=10**9, hot_days=3)  # a floor no disk reaches
        w = _writer(tmp_path, policy=policy, on_alarm=alarms.append)
        await w.open()
        for n in range(3):
            w.submit_string(make_status(ts=T0 + n * DAY))
        await w.flush()
        await w.housekeeping()  # must not raise
        assert schema.hot_days_on_disk(tmp_path) == [schema.day_of(T0) + 2]  # today's file is kept
        assert [a.active for a in alarms] == [True]  # raised once, however often it is looked at
        assert alarms[0].floor_mb == 10**9 and 0 < alarms[0].free_mb < 10**9
        assert w.stats().disk_alarm
        w.policy = RetentionPolicy(min_free_mb=0)
        await w.housekeeping()
        assert [a.active for a in alarms] == [True, False]
        await w.close()

    asyncio.run(main())


def test_full_queue_drops_visibly_not_silently(tmp_path: Path) -> None:
    async def main() -> None:
        w = _writer(tmp_path, max_pending=5)
        await w.open()
        accepted = [w.submit_string(make_status(ts=T0 + i)) for i in range(8)]
        assert accepted == [True] * 5 + [False] * 3
        st = w.stats()
        assert (st.pending, st.dropped, st.pending_high_water) == (5, 3, 5)
        await w.flush()
        assert w.stats().committed == 5
        await w.close()

    asyncio.run(main())


def test_writer_compacts_in_a_child_process(tmp_path: Path) -> None:
    async def main() -> None:
        policy = RetentionPolicy(compaction_grace_s=0, hot_days=1, min_free_mb=0)
        w = _writer(tmp_path, policy=policy, compact=True)
        await w.open()
        for i in range(10):
            w.submit_string(make_status(ts=T0 + i * 600))
        w.submit_string(make_status(ts=T0 + DAY + 5))
        await w.flush()
        await w.housekeeping()
        deadline = time.monotonic() + 30
        while w.stats().compactions == 0 and time.monotonic() < deadline:
            assert w._compaction is not None
            await asyncio.wait([w._compaction], timeout=1)
        assert w.stats().compactions == 1
        await w.housekeeping()  # now the compacted hot day can go
        await w.close()
        assert schema.hot_days_on_disk(tmp_path) == [schema.day_of(T0) + 1]
        con = sqlite3.connect(schema.cold_path(tmp_path, schema.day_of(T0)))
        assert con.execute("SELECT count(*) FROM cell_day").fetchone()[0] == 4
        con.close()

    asyncio.run(main())


def test_storage_space_low_is_raised_before_the_writes_stop_and_cleared_when_space_returns(tmp_path: Path) -> None:
    """On a real 8 MiB disk: under the 2 MB floor the alarm comes while commits still succeed."""
    from tests.support import fill_disk, small_disk

    async def until(condition, what: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.02)  # yields to the writer's loop; the deadline bounds the wait

    async def main(disk: Path) -> None:
        alarms: list[HistoryDiskAlarm] = []
        w = _writer(disk, policy=RetentionPolicy(min_free_mb=2), on_alarm=alarms.append, space_check_s=0.05)
        await w.open()
        w.submit_string(make_status(ts=T0))
        await w.flush()
        low = fill_disk(disk, "low.bin", leave_bytes=1 << 20)  # 1 MiB free: under the floor, not full
        await until(lambda: alarms, "storage space low")
        assert alarms[0].active and alarms[0].free_mb < 2 and alarms[0].floor_mb == 2
        w.submit_string(make_status(ts=T0 + 10))
        await w.flush()  # the history is still written: the alarm came first
        assert w.stats().committed == 2
        full = fill_disk(disk, "full.bin")
        w.submit_string(make_status(ts=T0 + 20))
        with pytest.raises(sqlite3.OperationalError, match="full"):
            await w.flush()
        assert [a.active for a in alarms] == [True]  # one alarm, however long the disk stays full
        full.unlink()
        low.unlink()
        await until(lambda: len(alarms) == 2, "the alarm to clear")
        assert alarms[1].active is False and alarms[1].free_mb >= 3
        await w.flush()  # the scan that waited is written now
        assert w.stats().committed == 3 and w.stats().pending == 0
        await w.close()

    with small_disk(tmp_path / "disk", "8m") as disk:
        asyncio.run(main(disk))


def test_a_finished_event_keeps_what_the_detector_measured(tmp_path: Path) -> None:
    import dataclasses

    from battery.analytics import DischargeEvent

    measured = DischargeEvent(T0 + 60, T0 + 180, 1.25, 33.75, 26.4, 12010, ((3, 12010), (1, 12100)))

    async def main() -> None:
        w = _writer(tmp_path)
        await w.open()
        for i in range(5):
            state = ChargeState.DISCHARGE if 1 <= i <= 3 else ChargeState.FLOAT
            status = make_status(
                "S1", 1, T0 + 60 * i, state=state, current_a=-20.0 if state == ChargeState.DISCHARGE else 5.0
            )
            if i == 4:  # charging resumed: the string master reports the event that ended
                status = dataclasses.replace(status, discharge_ended=measured)
            w.submit_string(status)
        await w.flush()
        await w.close()
        (event,) = await HistoryReader(tmp_path).discharge_events()
        # The stored times, the detector's figures (a recount of these scans would give 3 x 20 A x 60 s = 1 Ah).
        assert (event.start, event.end, event.source) == (T0 + 60, T0 + 240, FROM_DETECTOR)
        assert event.figures == dataclasses.replace(measured, started_at=T0 + 60, ended_at=T0 + 240)

    asyncio.run(main())
