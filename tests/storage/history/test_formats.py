"""History written in format 1 (a string's SOC and SOH in 0.1 %) still reads, in the registry's 1 %.

The files in tests/data/history_format1/history were written by the code of revision cbf98a5
(tests/data/history_format1/write_history.py): one compacted day (cold tier), one hot day, a
discharge event. Every query must answer for them exactly what it answers for the same scans
written now, in format 2.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import sqlite3
from pathlib import Path

import pytest

from storage.history import codec, schema
from storage.history.compactor import compact_day
from storage.history.export_csv import csv_chunks
from storage.history.reader import HistoryQueries
from storage.history.writer import HistoryWriter
from tests.support import TEST_DATA

DATA = TEST_DATA / "history_format1"
_spec = importlib.util.spec_from_file_location("write_history", DATA / "write_history.py")
wh = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(wh)  # type: ignore[union-attr]

T0, DAY, STEP, N = wh.T0, wh.DAY, wh.STEP, wh.SCANS_PER_DAY


@pytest.fixture
def old(tmp_path: Path) -> Path:
    shutil.copytree(DATA / "history", tmp_path / "old" / "history")
    return tmp_path / "old"


@pytest.fixture
def new(tmp_path: Path) -> Path:
    asyncio.run(wh.write(tmp_path / "new"))
    return tmp_path / "new"


def test_the_committed_files_are_format_1(old: Path) -> None:
    """Guards the fixture itself: SOC stored in 0.1 %, no day_format table, format byte 1."""
    cold = sqlite3.connect(schema.cold_path(old, schema.day_of(T0)))
    assert not cold.execute("SELECT 1 FROM sqlite_master WHERE name='day_format'").fetchone()
    hot = sqlite3.connect(schema.hot_path(old, schema.day_of(T0 + DAY)))
    payload = hot.execute("SELECT payload FROM string_scan WHERE string_no=1 ORDER BY ts_ms LIMIT 1").fetchone()[0]
    assert payload[0] == 1
    fields = codec.from_lanes(codec.unshuffle(__import__("zlib").decompress(payload[1:])))
    assert fields[schema.STRING_FIELDS.index("soc_pct")] == 10 * wh.expected_soc(1, N)


def test_old_hot_and_cold_scans_read_in_whole_percent(old: Path) -> None:
    q = HistoryQueries(old)
    day2 = T0 + DAY
    snap = q.string_snapshot("S1", day2 + 5 * STEP)
    assert snap is not None
    assert (snap["values"]["soc"], snap["values"]["soh"]) == (wh.expected_soc(1, N + 5), wh.expected_soh(1))
    hot = q.series("string", "S1", "soc", day2, day2 + 6 * STEP, 6)
    assert [p[2] for p in hot] == [wh.expected_soc(1, N + i) for i in range(6)]
    cold = q.series("string", "S2", "soh", T0, T0 + 6 * STEP, 6)  # raw samples of the compacted day
    assert [p[2] for p in cold] == [wh.expected_soh(2)] * 6
    hourly = q.series("string", "S1", "soc", T0, T0 + DAY, 24)  # hourly summaries of the compacted day
    for h, (_, low, avg, high) in enumerate(hourly):
        socs = [wh.expected_soc(1, i) for i in range(6 * h, 6 * h + 6)]
        assert (low, avg, high) == (min(socs), pytest.approx(sum(socs) / 6), max(socs))


def test_every_query_answers_for_old_files_what_it_answers_for_new_ones(old: Path, new: Path) -> None:
    a, b = HistoryQueries(old), HistoryQueries(new)
    for level, ident, name in (
        ("string", "S1", "soc"),
        ("string", "S2", "soh"),
        ("ups", "U1", "soc"),
        ("string", "S1", "voltage"),
        ("cell", "S2/3", "resistance"),
    ):
        for points in (500, 48, 24, 2):
            assert a.series(level, ident, name, T0, T0 + 2 * DAY, points) == b.series(
                level, ident, name, T0, T0 + 2 * DAY, points
            ), (level, ident, name, points)
    for t in (T0 + 7 * STEP, T0 + DAY + 61 * STEP):
        assert a.string_snapshot("S1", t) == b.string_snapshot("S1", t)
    assert a.discharge_event_series(1, "soc") == b.discharge_event_series(1, "soc") != []
    for kind in ("strings", "cells"):
        assert "".join(csv_chunks(a, kind, T0, T0 + 2 * DAY)) == "".join(csv_chunks(b, kind, T0, T0 + 2 * DAY))
    rows = "".join(csv_chunks(a, "strings", T0 + DAY, T0 + DAY + STEP, string="S1")).split("\r\n")
    header = rows[0].split(",")
    assert rows[1].split(",")[header.index("soc [%]")] == str(wh.expected_soc(1, N))


def test_new_scans_and_a_new_compaction_join_old_files(old: Path) -> None:
    """Format 2 rows go into the old hot file, then the day into the old month file beside format 1."""
    day2 = T0 + DAY

    async def append() -> None:
        w = HistoryWriter(old, commit_interval_s=3600, housekeeping_interval_s=1e9, compact=False)
        await w.open()
        later = wh.status(1, N + 7)
        w.submit_string(later.__class__(**{**later.__dict__, "timestamp": later.timestamp + STEP / 2, "soc_pct": 42.0}))
        await w.close()

    asyncio.run(append())
    compact_day(old, schema.day_of(day2))
    schema.hot_path(old, schema.day_of(day2)).unlink()
    q = HistoryQueries(old)
    points = q.series("string", "S1", "soc", day2 + 7 * STEP, day2 + 8 * STEP, 2)
    assert [p[2] for p in points] == [wh.expected_soc(1, N + 7), 42]
    assert q.series("string", "S1", "soc", T0, T0 + STEP, 1)[0][2] == wh.expected_soc(1, 0)  # format 1 day
    cold = sqlite3.connect(schema.cold_path(old, schema.day_of(T0)))
    assert cold.execute("SELECT day, format FROM day_format").fetchall() == [(schema.day_of(day2), 2)]
