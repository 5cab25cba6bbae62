"""The Discharge tab, /api/v1/discharges and its CSV give each event the same figures, from its
one source: the detector's stored figures for a finished event (not a recount of its scans),
a recount for one without them. Real SQLite history in a temporary directory, the app in-process."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from dataclasses import replace
from html import unescape

from battery.analytics import DischargeEvent
from battery.codes import ChargeState
from storage.history.writer import HistoryWriter
from tests.factories import T0, make_status, sample_topology, ui_context
from web.access import SESSION_COOKIE
from web.api_tokens import TokenVerifier
from web.app import create_app
from web.users.book import User

# What the string master's detector measured over s1's event: 1.37 Ah, where a recount of the
# stored scans (3 minutes at 20 A) would give 1.00 Ah.
MEASURED = DischargeEvent(T0, T0 + 180, 1.37, 36.99, 26.4, 12010, ((3, 12010), (1, 12100)))
DISCHARGING = {"state": ChargeState.DISCHARGE, "current_a": -20.0}


async def _history(storage) -> None:
    w = HistoryWriter(storage, commit_interval_s=3600, housekeeping_interval_s=1e9, compact=False)
    await w.open()
    for i in range(3):
        w.submit_string(make_status("s1", 1, T0 + 60 * i, ups_id="ups1", **DISCHARGING))
    w.submit_string(replace(make_status("s1", 1, T0 + 180, ups_id="ups1"), discharge_ended=MEASURED))
    for i in range(4):  # s3's event goes on: nothing measured it yet
        w.submit_string(make_status("s3", 3, T0 + 600 + 60 * i, ups_id="ups2", **DISCHARGING))
    await w.close()


def _page_rows(html: str) -> list[list[str]]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [unescape(re.sub(r"<[^>]+>|\s+", " ", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in rows
    ]


def test_the_page_the_api_and_the_csv_give_each_event_the_same_figures(tmp_path) -> None:
    asyncio.run(_history(tmp_path))
    ui = ui_context(sample_topology(), tmp_path)
    ui.users.add(User("vera", "viewer"), "a long enough password")
    app = create_app(ui, TokenVerifier(tmp_path))

    async def fetch() -> tuple[dict, str, str]:
        session_id, _ = await ui.sessions.create("vera")
        headers = {"Cookie": f"{SESSION_COOKIE}={session_id}"}
        async with app.test_app() as running:
            client = running.test_client()
            api = await (await client.get("/api/v1/discharges", headers=headers)).get_json()
            table = await (await client.get("/api/v1/discharges.csv", headers=headers)).get_data(as_text=True)
            page = await (await client.get("/site/discharge", headers=headers)).get_data(as_text=True)
        return api, table, page

    api, table, page = asyncio.run(fetch())
    ongoing, finished = api["discharges"]
    assert (finished["string_id"], finished["figures_from"], finished["ah"], finished["wh"]) == (
        "s1",
        "detector",
        1.37,
        37.0,
    )
    assert (finished["duration_s"], finished["min_cell"], finished["min_cell_voltage_v"]) == (180, 3, 12.01)
    assert finished["weakest_cells"] == [{"cell": 3, "min_voltage_v": 12.01}, {"cell": 1, "min_voltage_v": 12.1}]
    assert (ongoing["string_id"], ongoing["figures_from"], ongoing["end"], ongoing["duration_s"]) == (
        "s3",
        "scans",
        None,
        180,
    )
    assert ongoing["ah"] == round(20 * 180 / 3600, 2) and ongoing["min_string_voltage_v"] == 27.1

    rows = list(csv.reader(io.StringIO(table, newline="")))
    header = rows[0]
    assert header[5:] == [
        "duration [s]",
        "charge [Ah]",
        "energy [Wh]",
        "lowest string voltage [V]",
        "lowest cell voltage [V]",
        "lowest cell",
    ]
    shown = _page_rows(page)
    for event, row, cells in zip(api["discharges"], rows[1:], shown, strict=True):
        assert row[0] == cells[0] == str(event["id"])
        assert [float(row[6]), float(row[7])] == [event["ah"], event["wh"]]
        assert cells[6:11] == [
            f"{event['ah']:.2f}",
            f"{event['wh']:.1f}",
            f"{event['min_string_voltage_v']:.2f}",
            f"{event['min_cell_voltage_v']:.3f}",
            f"#{event['min_cell']}",
        ]
    assert shown[1][6] == "1.37"  # the detector's, not the 1.00 a recount of the scans gives
