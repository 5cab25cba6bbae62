"""A discharge event's figures from one source: the detector's when stored, else recounted from
the stored scans by the detector's own rule (storage/history/discharge_figures.py)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest

from battery.analytics import DischargeParams, DischargeState, params_for, step_discharge
from battery.codes import ChargeState
from storage.history import schema
from storage.history.discharge_figures import FROM_SCANS
from storage.history.reader import HistoryQueries
from storage.history.writer import HistoryWriter
from tests.factories import DAY, T0, make_status, write_discharge, write_past_days
from tests.support import TEST_DATA

STEP_S = 600
A1, A2 = ("A1", 1, "UPS-A"), ("A2", 2, "UPS-A")


def _write(storage: Path, statuses) -> None:
    async def main() -> None:
        w = HistoryWriter(storage, commit_interval_s=3600, housekeeping_interval_s=1e9, compact=False)
        await w.open()
        for status in statuses:
            w.submit_string(status)
        await w.close()

    asyncio.run(main())


def test_a_recount_of_the_stored_scans_gives_the_detectors_figures(tmp_path: Path) -> None:
    """The same scans through the string master's detector and through history, whose writer
    was given no figures (as before they were stored): the same Ah, Wh and minima. History
    stores an event's scans from the one that confirmed it (the second past the threshold),
    and the recount holds that scan's current and voltage since the back-dated start: here the
    first two scans past the threshold read alike, as at a steady load."""
    battery, params = params_for(12, 100.0), DischargeParams()
    currents = [0.0, 0.0, -40.0, -40.0, -45.0, -52.5, -60.0, -30.0, -55.0, -48.0, 5.0, 5.0]
    state, detected, statuses = DischargeState(), None, []
    for i, amps in enumerate(currents):
        t = T0 + i
        volts = round(27.3 - 0.2 * max(i, 3) + (0.5 if amps > 0 else 0.0), 2)
        cells = tuple(13400 - 20 * i + 7 * k * (-1) ** i for k in range(4))
        state, ended = step_discharge(state, t, 1.0, volts, amps, cells, battery, params)
        detected = ended or detected
        status = make_status(
            "S1", 1, t, state=ChargeState.DISCHARGE if amps < 0 else ChargeState.FLOAT, current_a=amps, voltage_v=volts
        )
        started = state.started_at if state.active else None
        statuses.append(replace(status, cell_voltage_mv=cells, discharge_started_at=started))
    _write(tmp_path, statuses)
    [event] = HistoryQueries(tmp_path).discharge_events()
    assert detected is not None and event.source == FROM_SCANS
    assert (event.start, event.end) == (detected.started_at, detected.ended_at) == (T0 + 2, T0 + 10)
    f = event.figures
    assert (f.ah, f.wh) == (pytest.approx(detected.ah, abs=1e-9), pytest.approx(detected.wh, abs=1e-6))
    assert f.ah == pytest.approx((40 + 40 + 45 + 52.5 + 60 + 30 + 55 + 48) / 3600)
    assert (f.min_string_v, f.min_cell_mv, f.weakest_cells) == (
        detected.min_string_v,
        detected.min_cell_mv,
        detected.weakest_cells,
    )


def test_an_event_has_its_duration_charge_and_lowest_voltages(tmp_path: Path) -> None:
    yesterday = (int(time.time() // DAY) - 1) * DAY
    start, end = yesterday + 3600, yesterday + 3 * 3600  # two hours at 40 A, one scan per 10 minutes
    write_past_days(tmp_path, [A1, A2], 2, step_s=3600, hot_days=1)
    write_discharge(tmp_path, A1, start, end, step_s=STEP_S)
    queries = HistoryQueries(tmp_path)
    [event] = queries.discharge_events()
    assert (event.string_id, event.ups_id, event.start, event.end) == ("A1", "UPS-A", start, end)
    f = event.figures
    assert f.duration_s == 7200
    # 12 scans at 40 A, each held until the next: the last one until the float scan that ends it.
    assert f.ah == pytest.approx(40 * 2)
    assert f.min_string_v == round(27.1 - 3 * 11 / 12, 2)
    assert (f.min_cell_mv, f.weakest_cells[0][0]) == (12125, 1)
    assert queries.discharge_events(string_id="A2") == []
    assert queries.discharge_events(ups_id="UPS-A") == [event]


def test_history_stored_before_the_detectors_figures_gets_them_from_its_scans(tmp_path: Path) -> None:
    """tests/data/history_format1 has no discharge_summary table: 6 scans of S1 at 12.5 A, 10 min apart."""
    shutil.copytree(TEST_DATA / "history_format1" / "history", tmp_path / "history")
    with sqlite3.connect(schema.catalog_path(tmp_path)) as con:
        assert not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'discharge_summary'").fetchone()
    [event] = HistoryQueries(tmp_path).discharge_events()
    f = event.figures
    assert (event.string_id, event.end - event.start, f.duration_s, event.source) == ("S1", 3600, 3600, FROM_SCANS)
    assert (f.ah, f.wh) == (pytest.approx(12.5), pytest.approx(12.5 * 40.51))
    assert (f.min_string_v, f.min_cell_mv) == (40.51, 13499)
    assert f.weakest_cells == ((3, 13499), (1, 13500), (2, 13501))


def test_a_closed_events_recount_is_kept_an_ongoing_one_is_redone(tmp_path: Path) -> None:
    discharging = {"state": ChargeState.DISCHARGE, "current_a": -36.0}
    closed = [make_status("S1", 1, T0 + 60 * i, **discharging) for i in range(3)] + [make_status("S1", 1, T0 + 180)]
    _write(tmp_path, closed + [make_status("S2", 2, T0 + 200 + 60 * i, **discharging) for i in range(3)])
    queries = HistoryQueries(tmp_path)
    ongoing, done = queries.discharge_events()
    assert (done.end, done.figures.ah) == (T0 + 180, pytest.approx(36 * 180 / 3600))
    assert (ongoing.end, ongoing.figures.duration_s, ongoing.figures.ah) == (None, 120, pytest.approx(36 * 120 / 3600))
    _write(tmp_path, [make_status("S2", 2, T0 + 380, **discharging)])
    with sqlite3.connect(schema.catalog_path(tmp_path)) as con:
        con.execute("DELETE FROM discharge_scan WHERE event_id = ?", (done.id,))
    ongoing, again = queries.discharge_events()
    assert again == done  # kept: its scans were not read again
    assert (ongoing.figures.duration_s, ongoing.figures.ah) == (180, pytest.approx(36 * 180 / 3600))
