"""Every CSV of history (the API's export.csv, `btms export`) is safe to open in a spreadsheet.

A text field that starts with = + - @ TAB or CR gets a leading apostrophe (OWASP's rule for
CSV injection); the gateway's own numbers (a negative current) stay bare numbers.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
from pathlib import Path

from battery.codes import ChargeState
from storage.csv_text import FORMULA_STARTS, spreadsheet_row, spreadsheet_text
from storage.history.export_csv import csv_chunks, run_export
from storage.history.reader import HistoryQueries
from storage.history.writer import HistoryWriter
from tests.factories import T0, make_status
from tests.support import REPO


def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe() -> None:
    for start in FORMULA_STARTS:
        assert spreadsheet_text(f"{start}A1") == f"'{start}A1"
    assert FORMULA_STARTS == ("=", "+", "-", "@", "\t", "\r")
    assert spreadsheet_row(["A1", "", "-A1", "=1+1", "#005"]) == ["A1", "", "'-A1", "'=1+1", "#005"]


def _history_with_hostile_ids(d: Path) -> None:
    async def main() -> None:
        w = HistoryWriter(d, commit_interval_s=3600, housekeeping_interval_s=1e9, compact=False)
        await w.open()
        for i in range(3):
            w.submit_string(
                make_status("-S1", 1, T0 + 10 * i, ups_id="=U1", state=ChargeState.DISCHARGE, current_a=-12.5)
            )
            w.submit_string(make_status("@S2", 2, T0 + 10 * i, ups_id="+U2"))
        await w.close()

    asyncio.run(main())


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_export_csv_neutralises_ids_and_keeps_numbers_numeric(tmp_path: Path) -> None:
    _history_with_hostile_ids(tmp_path)
    q = HistoryQueries(tmp_path)
    strings = _rows("".join(csv_chunks(q, "strings", T0, T0 + 60)))
    assert {(r[1], r[2]) for r in strings[1:]} == {("'=U1", "'-S1"), ("'+U2", "'@S2")}
    current = strings[0].index("current [A]")
    assert {r[current] for r in strings[1:] if r[2] == "'-S1"} == {"-12.50"}  # a number, not text
    cells = _rows("".join(csv_chunks(q, "cells", T0, T0 + 60)))
    assert {(r[1], r[2]) for r in cells[1:]} == {("'=U1", "'-S1"), ("'+U2", "'@S2")}
    one = _rows("".join(csv_chunks(q, "cells", T0, T0 + 60, string="-S1", cell=2)))
    assert len(one) == 4 and all(r[1:4] == ["'=U1", "'-S1", "2"] for r in one[1:])
    for row in strings[1:] + cells[1:]:
        assert not any(field.startswith(FORMULA_STARTS) for field in row if not _is_number(field)), row


def test_btms_export_files_are_neutralised_too(tmp_path: Path) -> None:
    _history_with_hostile_ids(tmp_path)
    start = dt.datetime.fromtimestamp(T0, dt.UTC)
    files = run_export(tmp_path, None, start, start + dt.timedelta(minutes=1), None, None, None, tmp_path / "out")
    assert len(files) == 2
    for path in files:
        rows = _rows(path.read_text(encoding="utf-8"))
        assert {r[2] for r in rows[1:]} == {"'-S1", "'@S2"}


def test_every_csv_writer_goes_through_the_one_rule() -> None:
    """A module that writes CSV imports csv_text: a new CSV writer cannot forget the rule."""
    uses_csv = re.compile(r"^\s*(import csv$|from csv import)", re.MULTILINE)
    writers = [
        p
        for folder in ("actors", "storage", "web", "protocols", "btms")
        for p in (REPO / folder).rglob("*.py")
        if uses_csv.search(p.read_text(encoding="utf-8"))
    ]
    assert {"export_csv.py", "alarm_store.py"} <= {p.name for p in writers}, "the scan misses known CSV writers"
    for path in writers:
        assert "csv_text import" in path.read_text(encoding="utf-8"), (
            f"{path.relative_to(REPO)} writes CSV without csv_text"
        )


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True
