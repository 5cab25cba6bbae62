"""The discharge table's numbers: duration, discharged Ah and the lowest voltages of each event."""

from __future__ import annotations

import time

from storage.history.reader import HistoryQueries
from tests.factories import DAY, write_discharge, write_past_days

STEP_S = 600
A1, A2 = ("A1", 1, "UPS-A"), ("A2", 2, "UPS-A")


def test_an_event_has_its_duration_charge_and_lowest_voltages(tmp_path) -> None:
    yesterday = (int(time.time() // DAY) - 1) * DAY
    start, end = yesterday + 3600, yesterday + 3 * 3600  # two hours at 40 A, one scan per 10 minutes
    write_past_days(tmp_path, [A1, A2], 2, step_s=3600, hot_days=1)
    write_discharge(tmp_path, A1, start, end, step_s=STEP_S)
    queries = HistoryQueries(tmp_path)
    [event] = queries.discharge_table()
    assert (event["string_id"], event["ups_id"], event["start"], event["end"]) == ("A1", "UPS-A", start, end)
    assert event["duration_s"] == 7200
    # 12 scans discharge, 11 intervals between them: the float scan at the end is not one of them.
    assert event["charge_ah"] == round(40 * 11 * STEP_S / 3600, 2)
    assert event["lowest_string_voltage"] == round(27.1 - 3 * 11 / 12, 2)
    assert (event["lowest_cell_voltage"], event["lowest_cell"]) == (12.125, 1)
    assert queries.discharge_table(string_id="A2") == []
    assert queries.discharge_table(ups_id="UPS-A") == [event]  # the second time from the kept summaries
