"""The aggregator's History tab over HTTP: a gateway's UPS and strings as stored in a real
PostgreSQL, downsampled there into at most `points` buckets of the stored part of the range,
the CSV download of exactly those buckets (spreadsheet-safe names), hostile arguments refused
with a 4xx that says what is wrong."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from statistics import mean

import pytest

from aggregator.site_view import AggregatedSite, iso
from tests.aggregator_ui_support import (
    NOW_MS,
    add_user,
    apply_views,
    gateway_view,
    logged_in,
    record,
    run,
    store_records,
    string_metrics,
)

T0_MS = NOW_MS - 3_600_000  # an hour of records, one every 10 s
STEPS = 360
EVIL = "=1+2"  # a UPS id a spreadsheet would run as a formula


def a1_voltage(k: int) -> float | None:
    """k 100: the gateway sent "not available"; 150 and 151: what a broken gateway could send."""
    return {100: None, 150: float("nan"), 151: float("inf")}.get(k, round(54.0 + (k % 4) * 0.1, 2))


def stored_records() -> list:
    out = []
    for k in range(STEPS):
        ts = T0_MS + k * 10_000
        out.append(record("gw1", "UPS-A", ts, {"ups.voltage": 400.0 + k % 10, "ups.soc": 90.0}, {"ups.health": "OK"}))
        own = {"string.voltage": a1_voltage(k), "string.current": -1.5}
        if k >= 200:  # a rebirth with another order of the metrics: another layout
            own = {"string.current": -1.5, "string.voltage": a1_voltage(k)}
        out.append(record("gw1", "UPS-A:A1", ts, own, {"string.state": "FLOAT"}))
        if k % 50 == 0:  # the changed cells of the same scan: a record of their own, without the string's values
            out.append(record("gw1", "UPS-A:A1", ts, {"cell.voltage/1": 13.5 + k / 1000}))
        out.append(record("gw-evil", f"{EVIL}:A1", ts, {"string.voltage": 50.0}))
    return out


@pytest.fixture(scope="module")
def stored(tmp_path_factory, postgres):
    storage = tmp_path_factory.mktemp("aggregator-history")
    add_user(storage, "olga", "operator")
    asyncio.run(store_records(postgres.dsn, stored_records()))
    return storage, postgres.dsn


def a_site() -> AggregatedSite:
    site = AggregatedSite()
    evil = gateway_view("gw-evil", {})
    evil.devices[f"{EVIL}:A1"] = string_metrics(2)
    apply_views(site, gateway_view("gw1", {"A1": string_metrics(4), "A2": string_metrics(4)}), evil)
    return site


def iso_ms(ms: int) -> str:
    return iso(ms / 1000)


STORED = "from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z"  # a month holding the hour stored


def series_url(gateway: str = "gw1", **args) -> str:
    query = {
        "level": "string",
        "id": "UPS-A:A1",
        "quantity": "voltage",
        "from": "2026-11-01T00:00:00Z",
        "to": "2026-12-01T00:00:00Z",
    } | args
    return f"/api/v1/gateways/{gateway}/series?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_a_series_is_bucketed_in_postgresql_over_the_stored_part_of_the_range(stored) -> None:
    storage, dsn = stored
    values = [v for k in range(STEPS) if (v := a1_voltage(k)) is not None and abs(v) < float("inf")]

    async def scenario(client):
        await logged_in(client)
        year = await (await client.get(series_url(**{"from": "2020-01-01T00:00:00Z", "points": "1"}))).get_json()
        ((t, lo, avg, hi),) = year["points"]
        assert t == iso_ms(T0_MS)  # the year is cut to the hour stored
        assert (lo, hi) == (54.0, 54.3) and avg == pytest.approx(
            mean(values), abs=1e-4
        )  # both layouts; no null, NaN or infinity
        hour = {
            "from": iso_ms(T0_MS).replace("+00:00", "Z"),
            "to": iso_ms(T0_MS + STEPS * 10_000).replace("+00:00", "Z"),
        }
        answer = await (await client.get(series_url(points="36", **hour))).get_json()
        assert len(answer["points"]) == 36  # ten records a bucket
        first = answer["points"][0]
        assert first[0] == iso_ms(T0_MS) and first[1:] == [54.0, 54.13, 54.3]  # k 0..9: 54.0, .1, .2, .3, .0, ... .1
        many = await (await client.get(series_url(points="5000", **hour))).get_json()
        assert 300 < len(many["points"]) <= STEPS  # never more buckets than records
        ups = await (await client.get(series_url(level="ups", id="UPS-A", points="1", **hour))).get_json()
        assert ups["points"][0][1:] == [400.0, 404.5, 409.0]
        empty = await (await client.get(series_url(id="UPS-A:A2"))).get_json()
        assert empty["points"] == []  # a string with nothing stored: no data, not an error
        before = await (
            await client.get(series_url(**{"from": "2019-01-01T00:00:00Z", "to": "2020-01-01T00:00:00Z"}))
        ).get_json()
        assert before["points"] == []

    run(a_site(), storage, scenario, dsn)


def test_the_download_is_the_plots_buckets_with_spreadsheet_safe_names(stored) -> None:
    storage, dsn = stored

    async def scenario(client):
        await logged_in(client)
        both = f"id=UPS-A:A1&id=UPS-A:A2&level=string&quantity=voltage&points=12&tz=Europe/Ljubljana&{STORED}"
        answer = await client.get(f"/api/v1/gateways/gw1/series.csv?{both}")
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert "attachment" in answer.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(await answer.get_data(as_text=True))))
        assert rows[0][:4] == [
            "time",
            "UPS-A:A1 voltage min [V]",
            "UPS-A:A1 voltage avg [V]",
            "UPS-A:A1 voltage max [V]",
        ]
        assert len(rows) == 13 and all(r[4:] == ["", "", ""] for r in rows[1:])  # A2 stored nothing: empty fields
        plot = await (await client.get(series_url(points="12"))).get_json()
        assert [[float(x) for x in r[1:4]] for r in rows[1:]] == [p[1:] for p in plot["points"]]
        assert rows[1][0].endswith("+01:00")  # the zone asked for
        evil = f"/api/v1/gateways/gw-evil/series.csv?level=string&quantity=voltage&id={EVIL.replace('+', '%2B')}:A1&{STORED}"
        text = await (await client.get(evil)).get_data(as_text=True)
        assert text.splitlines()[0].startswith("time,'=1+2:A1 voltage min [V]")  # never a formula

    run(a_site(), storage, scenario, dsn)


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("level=cell&id=A1/1&quantity=voltage", 400, "'level': ups or string"),
        ("level=string&id=UPS-A:A1&quantity=bogus", 400, "'quantity': one of voltage"),
        ("level=string&id=UPS-A:A1&quantity=voltage&from=2026-01-02T00:00Z&to=2026-01-01T00:00Z", 400, "before"),
        ("level=string&id=UPS-A:A1&quantity=voltage&points=0", 400, "'points'"),
        ("level=string&id=UPS-A:A1&quantity=voltage&points=99999999999999999999", 400, "'points'"),
        ("level=string&id=UPS-A:A1&quantity=voltage&from=yesterday", 400, "ISO 8601"),
        ("level=string&id=UPS-A:A1&quantity=voltage&to=0001-01-01T00:00:00Z", 400, "year 1"),
        ("level=string&id=UPS-A:A1&quantity=voltage&to=2026-01-01T00:00:00", 400, "UTC offset"),
        ("level=string&quantity=voltage", 400, "'id' is required"),
        ("level=string&id=UPS-A:Z9&quantity=voltage", 404, "no string"),
        ("level=ups&id=UPS-A:A1&quantity=voltage", 404, "no ups"),
        ("level=string&id=UPS-A:A1&quantity=voltage&tz=Mars/Olympus", 400, "'tz'"),
    ],
)
def test_hostile_arguments_get_a_4xx_that_says_what_is_wrong(stored, query, status, message) -> None:
    storage, dsn = stored

    async def scenario(client):
        await logged_in(client)
        csv_only = "tz=" in query
        answer = await client.get(f"/api/v1/gateways/gw1/series{'.csv' if csv_only else ''}?{query}")
        assert answer.status_code == status
        assert message in (await answer.get_json())["error"]["message"]

    run(a_site(), storage, scenario, dsn)


def test_history_pages_carry_what_the_plot_script_needs(stored) -> None:
    storage, dsn = stored

    async def scenario(client):
        assert (await client.get("/gateways/gw1/history")).status_code == 303  # a session first
        assert (await client.get(series_url())).status_code == 401
        await logged_in(client)
        html = await (await client.get("/gateways/gw1/history")).get_data(as_text=True)
        config = json.loads(re.search(r"data-config='([^']+)'", html).group(1).replace("&#34;", '"'))
        assert config["series_url"] == "/api/v1/gateways/gw1/series"
        assert config["series"]["string"] == [
            {"id": "UPS-A:A1", "label": "UPS-A / A1"},
            {"id": "UPS-A:A2", "label": "UPS-A / A2"},
        ]
        assert [q["name"] for q in config["quantities"] if q["level"] == "ups"] == ["voltage", "current", "soc"]
        assert '<optgroup label="UPS">' in html and "Download CSV" in html
        string = await client.get("/gateways/gw1/strings/UPS-A/A1/history")
        assert string.status_code == 200 and "UPS-A / A1: history" in await string.get_data(as_text=True)
        assert (await client.get("/gateways/gw1/strings/UPS-A/Z9/history")).status_code == 404
        assert (await client.get("/gateways/nobody/history")).status_code == 404
        assert (await client.get("/api/v1/gateways/nobody/series?level=ups&id=U&quantity=soc")).status_code == 404
        site = await (await client.get("/site/history")).get_data(as_text=True)
        assert 'href="/gateways/gw1/history"' in site and 'href="/gateways/gw-evil/history"' in site

    run(a_site(), storage, scenario, dsn)
