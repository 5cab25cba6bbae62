"""History queries cost what the stored data costs, whatever range is asked, and can be cancelled."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from pathlib import Path

import pytest

from storage.history import schema
from storage.history.cancel import CancelToken, QueryCancelled
from storage.history.export_csv import csv_chunks
from storage.history.reader import HistoryQueries, HistoryReader
from storage.history.stored_days import clamp_to_stored, days_within, stored_days
from tests.factories import DAY, write_past_days

STRINGS = [("S1", 1, "U1"), ("S2", 2, "U1")]
YEAR_1 = dt.datetime(1, 1, 1, tzinfo=dt.UTC).timestamp()
YEAR_9999 = dt.datetime(9999, 12, 31, tzinfo=dt.UTC).timestamp()


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[Path, list[int]]:
    """Four days at one scan per 15 minutes: three compacted (cold), the last one hot."""
    d = tmp_path_factory.mktemp("history")
    return d, write_past_days(d, STRINGS, 4, step_s=900, hot_days=1)


def test_stored_days_come_from_both_tiers(history) -> None:
    d, days = history
    assert stored_days(d) == days
    assert schema.hot_days_on_disk(d) == days[-1:]  # the others are only in the cold tier
    assert days_within(days, YEAR_1, YEAR_9999) == days
    assert days_within(days, days[1] * DAY + 5, days[1] * DAY + 6) == [days[1]]
    assert days_within(days, 0.0, 1.0) == []
    assert clamp_to_stored(days, YEAR_1, YEAR_9999) == (days[0] * DAY, (days[-1] + 1) * DAY)
    assert clamp_to_stored(days, days[0] * DAY + 10, YEAR_9999) == (days[0] * DAY + 10, (days[-1] + 1) * DAY)
    assert clamp_to_stored(days, 0.0, 1.0) is None


@pytest.mark.timeout(30)
def test_all_of_time_is_answered_from_the_stored_days(history) -> None:
    """0001..9999 is 3.6 million calendar days; the answer is the stored four, in well under a second."""
    d, days = history
    q = HistoryQueries(d)
    started = time.process_time()
    everything = q.series("ups", "U1", "current", YEAR_1, YEAR_9999, 96)
    stored = q.series("ups", "U1", "current", days[0] * DAY, (days[-1] + 1) * DAY, 96)
    assert everything == stored and len(everything) == 96
    assert min(p[1] for p in everything) == pytest.approx(-25.0)  # the sum of two strings at -12.5 A
    assert q.series("cell", "S1/2", "voltage", YEAR_1, days[0] * DAY) == []  # nothing stored then
    assert q.string_snapshot("S1", YEAR_1) is None
    assert q.string_snapshot("S2", YEAR_9999) is None  # a snapshot looks back one day, no further
    assert q.string_snapshot("S2", (days[-1] + 1) * DAY)["time"].startswith(schema.day_name(days[-1]) + "T23:45")
    units = q.string_days(YEAR_1, YEAR_9999, None, None)
    assert [(i.string_id, day) for i, day in units] == [(s, day) for day in days for s in ("S1", "S2")]
    rows = "".join(csv_chunks(q, "strings", YEAR_1, YEAR_9999)).count("\r\n")
    assert rows == 1 + 2 * 4 * 96
    assert time.process_time() - started < 2.0


def test_a_cancelled_query_stops_between_days(history) -> None:
    d, _ = history
    q = HistoryQueries(d)
    token = CancelToken()
    token.cancel()
    with pytest.raises(QueryCancelled):
        q.series("string", "S1", "voltage", YEAR_1, YEAR_9999, 500, cancel=token)
    chunks = csv_chunks(q, "cells", YEAR_1, YEAR_9999, cancel=token)
    assert next(chunks).startswith("time,ups,string,cell")  # the header; no day is read after it
    with pytest.raises(QueryCancelled):
        next(chunks)
    stopping = threading.Event()
    shared = CancelToken(stopping)
    assert not shared.cancelled
    stopping.set()
    assert shared.cancelled


def test_a_stopped_reader_refuses_queries(history) -> None:
    d, days = history
    reader = HistoryReader(d)

    async def main() -> None:
        assert await reader.series("string", "S1", "voltage", days[0] * DAY, days[0] * DAY + 3600, 4)
        reader.stop()
        with pytest.raises(QueryCancelled):
            await reader.series("string", "S1", "voltage", days[0] * DAY, days[0] * DAY + 3600, 4)
        export = reader.csv_rows("strings", YEAR_1, YEAR_9999)
        with pytest.raises(QueryCancelled):
            await anext(export)

    asyncio.run(main())


def test_a_query_whose_request_is_cancelled_is_cancelled_in_its_thread(tmp_path: Path) -> None:
    """A client that disconnects cancels the awaiting task: the worker thread must learn it too."""
    reader = HistoryReader(tmp_path)
    started, saw_cancel = threading.Event(), threading.Event()

    def query(cancel: CancelToken) -> None:  # stands for a query that reads day after day
        started.set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if cancel.cancelled:
                saw_cancel.set()
                return
            time.sleep(0.01)

    async def main() -> None:
        task = asyncio.create_task(reader._run(query))
        assert await asyncio.to_thread(started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(saw_cancel.wait, 5)

    asyncio.run(main())
