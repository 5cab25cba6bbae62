"""The CSV downloads of the History and Discharge pages, over HTTP from a running `btms run`.

Each download must hold exactly the JSON API's numbers for the same query: one row per bucket,
its time in the site's zone with the offset, the units in the header, RFC 4180 line ends. A
bad argument is a 400 that says which one is wrong.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.gateway_process import GatewayProcess
from tests.history_site import ZONE, history_gateway

pytestmark = pytest.mark.integration

DAYS = 14
NOW = datetime.now(UTC)
# A range of stored past days only: the running gateway does not change it between two requests.
PAST = {"from": (NOW - timedelta(days=10)).isoformat(), "to": (NOW - timedelta(days=2)).isoformat()}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> GatewayProcess:
    with history_gateway(tmp_path_factory.mktemp("downloads"), DAYS, step_s=600) as running:
        yield running


def get(gateway: GatewayProcess, path: str, **query) -> tuple[int, dict[str, str], bytes]:
    """GET with the tests' token; `query` values that are lists repeat their name."""
    url = gateway.web_url + path + ("?" + urllib.parse.urlencode(query, doseq=True) if query else "")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {gateway.token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def get_json(gateway: GatewayProcess, path: str, **query) -> dict:
    status, _, body = get(gateway, path, **query)
    assert status == 200, body[:300]
    return json.loads(body)


def get_csv(gateway: GatewayProcess, path: str, **query) -> list[list[str]]:
    status, headers, body = get(gateway, path, **query)
    assert status == 200, body[:300]
    assert headers["content-type"] == "text/csv; charset=utf-8"
    assert headers["content-disposition"].startswith('attachment; filename="btms-')
    text = body.decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")  # RFC 4180 line ends
    return list(csv.reader(io.StringIO(text, newline="")))


def local(iso_time: str, zone: ZoneInfo) -> str:
    """The API's UTC time as the CSV writes it: in `zone`, to the millisecond, with the offset."""
    return datetime.fromisoformat(iso_time).astimezone(zone).isoformat(timespec="milliseconds")


def expected_rows(answers: list[dict], zone: ZoneInfo) -> list[list[str]]:
    """The JSON answers (one per series) as rows: a series without a bucket has empty fields."""
    by_time: dict[str, list[str]] = {}
    for k, answer in enumerate(answers):
        for t, lo, avg, hi in answer["points"]:
            row = by_time.setdefault(t, [""] * (3 * len(answers)))
            row[3 * k : 3 * k + 3] = [repr(lo), repr(avg), repr(hi)]
    return [[local(t, zone), *by_time[t]] for t in sorted(by_time)]


@pytest.mark.parametrize(
    ("level", "ids", "quantity", "unit"),
    [
        ("ups", ["UPS-A", "UPS-B"], "current", "A"),
        ("string", ["A1", "A2"], "voltage", "V"),
        ("cell", ["A1/1", "A1/8"], "resistance", "mOhm"),
    ],
)
def test_a_series_download_holds_the_apis_buckets(gateway, level, ids, quantity, unit) -> None:
    query = {"level": level, "quantity": quantity, "points": "300", **PAST}
    answers = [get_json(gateway, "/api/v1/series", id=i, **query) for i in ids]
    rows = get_csv(gateway, "/api/v1/series.csv", id=ids, **query)
    assert rows[0] == ["time"] + [f"{i} {quantity} {e} [{unit}]" for i in ids for e in ("min", "avg", "max")]
    assert len(rows) > 250  # UPS-B has no stored history: its columns are empty, UPS-A's are not
    assert rows[1:] == expected_rows(answers, ZoneInfo(ZONE))
    offsets = {row[0][-6:] for row in rows[1:]}
    assert offsets <= {"+01:00", "+02:00"} and offsets


def test_a_string_with_nothing_stored_yet_has_no_points_not_a_404(gateway) -> None:
    query = {"level": "string", "quantity": "voltage", **PAST}
    assert get_json(gateway, "/api/v1/series", id="B2", **query)["points"] == []  # B2 has no stored scan
    rows = get_csv(gateway, "/api/v1/series.csv", id=["A1", "B2"], **query)
    assert rows[0][4:] == ["B2 voltage min [V]", "B2 voltage avg [V]", "B2 voltage max [V]"]
    assert len(rows) > 100 and all(row[4:] == ["", "", ""] for row in rows[1:])
    status, _, body = get(gateway, "/api/v1/series", level="cell", id="B2/9", quantity="voltage")
    assert status == 404 and "no string 'B2'" in json.loads(body)["error"]["message"]  # B2 has 8 cells


def test_times_are_in_the_zone_asked_for(gateway) -> None:
    query = {"level": "string", "id": "A1", "quantity": "soc", "points": "50", **PAST}
    answer = get_json(gateway, "/api/v1/series", **query)
    rows = get_csv(gateway, "/api/v1/series.csv", tz="America/New_York", **query)
    assert rows[1:] == expected_rows([answer], ZoneInfo("America/New_York"))
    assert {row[0][-6:] for row in rows[1:]} <= {"-05:00", "-04:00"}


def test_the_discharge_table_download_holds_the_apis_events(gateway) -> None:
    events = get_json(gateway, "/api/v1/discharges")["discharges"]
    assert [(e["string_id"], e["end"] is not None) for e in events] == [("B1", True), ("A2", True)]
    rows = get_csv(gateway, "/api/v1/discharges.csv")
    assert rows[0] == [
        "#",
        "ups",
        "string",
        "start",
        "end",
        "duration [s]",
        "charge [Ah]",
        "energy [Wh]",
        "lowest string voltage [V]",
        "lowest cell voltage [V]",
        "lowest cell",
    ]
    zone = ZoneInfo(ZONE)
    for row, e in zip(rows[1:], events, strict=True):
        start, end = (datetime.fromtimestamp(e[k], zone).isoformat(timespec="seconds") for k in ("start", "end"))
        assert row == [
            str(e["id"]),
            e["ups_id"],
            e["string_id"],
            start,
            end,
            repr(e["duration_s"]),
            repr(e["ah"]),
            repr(e["wh"]),
            repr(e["min_string_voltage_v"]),
            repr(e["min_cell_voltage_v"]),
            str(e["min_cell"]),
        ]
    assert events[0]["ah"] == pytest.approx(40 * 0.5, abs=0.3)  # 30 minutes at 40 A
    assert events[0]["min_cell"] == 1
    assert get_csv(gateway, "/api/v1/discharges.csv", string="A1") == rows[:1]  # the header alone
    assert [r[2] for r in get_csv(gateway, "/api/v1/discharges.csv", ups="UPS-A")[1:]] == ["A2"]


def test_a_discharge_plot_download_holds_the_apis_points(gateway) -> None:
    event = get_json(gateway, "/api/v1/discharges", string="A2")["discharges"][0]["id"]
    path = f"/api/v1/discharges/{event}/series"
    string = get_json(gateway, path, quantity="soc")
    rows = get_csv(gateway, path + ".csv", quantity="soc")
    assert rows[0] == ["time", "string soc min [%]", "string soc avg [%]", "string soc max [%]"]
    assert rows[1:] == expected_rows([string], ZoneInfo(ZONE)) and len(rows) > 200  # every scan: 90 min at 20 s
    cells = [get_json(gateway, path, quantity="voltage", cell=str(c)) for c in (1, 3)]
    rows = get_csv(gateway, path + ".csv", quantity="voltage", cell=["1", "3"])
    assert rows[0][1:4] == ["cell 1 voltage min [V]", "cell 1 voltage avg [V]", "cell 1 voltage max [V]"]
    assert rows[1:] == expected_rows(cells, ZoneInfo(ZONE))


@pytest.mark.parametrize(
    ("path", "query", "status", "message"),
    [
        ("/api/v1/series.csv", {"level": "string", "quantity": "voltage"}, 400, "'id' is required"),
        ("/api/v1/series.csv", {"level": "site", "id": "A1", "quantity": "voltage"}, 400, "'level' must be one of"),
        ("/api/v1/series.csv", {"level": "string", "id": ["A1", "A1"], "quantity": "soc"}, 400, "at most once"),
        ("/api/v1/series.csv", {"level": "string", "id": "A1"}, 400, "'quantity' is required"),
        (
            "/api/v1/series.csv",
            {"level": "string", "id": "A1", "quantity": "soc", "from": "2026-01-02T00:00Z", "to": "2026-01-01T00:00Z"},
            400,
            "'from' must be before 'to'",
        ),
        ("/api/v1/series.csv", {"level": "string", "id": "A1", "quantity": "soc", "to": "yesterday"}, 400, "ISO 8601"),
        ("/api/v1/series.csv", {"level": "string", "id": "A1", "quantity": "soc", "points": "0"}, 400, "1..5000"),
        ("/api/v1/series.csv", {"level": "string", "id": "A1", "quantity": "soc", "tz": "Mars/Base"}, 400, "'tz'"),
        ("/api/v1/series.csv", {"level": "string", "id": "A1", "quantity": "mood"}, 404, "no string quantity 'mood'"),
        ("/api/v1/series.csv", {"level": "string", "id": "Z9", "quantity": "soc"}, 404, "no string 'Z9'"),
        ("/api/v1/discharges/1/series.csv", {"cell": "0"}, 400, "'cell': 0 is not within 1..120"),
        ("/api/v1/discharges/1/series.csv", {"cell": "one"}, 400, "'cell': 'one' is not a whole number"),
        ("/api/v1/discharges/999/series.csv", {}, 404, "no discharge event 999"),
        ("/api/v1/discharges.csv", {"tz": "../etc/passwd"}, 400, "not an IANA time zone"),
    ],
)
def test_a_bad_argument_is_named(gateway, path, query, status, message) -> None:
    got, headers, body = get(gateway, path, **query)
    assert got == status and headers["content-type"] == "application/json", body[:300]
    assert message in json.loads(body)["error"]["message"]
