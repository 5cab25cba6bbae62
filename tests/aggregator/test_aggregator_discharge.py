"""The aggregator's Discharge tab: the gateways' `event/discharge` records stored in a real
PostgreSQL, paired into events with their depth from the string's stored scans, listed per
site, gateway and string, as JSON and as a spreadsheet-safe CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest

from aggregator.discharges import Message, paired
from aggregator.records import Record
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

T1 = NOW_MS / 1000 - 7200  # A1 starts discharging
T2 = T1 + 1805  # and ends
T3 = NOW_MS / 1000 - 600  # A2 and A3 start (one scan, one record), still discharging
EVIL = "=SUM(A1)"


def event(kind: str, string_id: str, at: float, ups_id: str = "UPS-A") -> str:
    return json.dumps({"event": kind, "string_id": string_id, "ups_id": ups_id, "time": at})


def stored_records() -> list:
    ms = lambda t: int(t * 1000)  # noqa: E731
    out = [
        record("gw1", "", ms(T1), {}, {"event/discharge": event("start", "A1", T1)}),
        record("gw1", "", ms(T1 + 30), {}, {"event/discharge": event("start", "A1", T1 + 30)}),  # announced again
        record("gw1", "", ms(T2), {}, {"event/discharge": event("end", "A1", T2)}),
        record("gw1", "", ms(T1 + 60), {}, {"gateway/version": "1.0"}),  # the gateway's own status: no event
        record("gw1", "", ms(T3), {}, {"event/discharge": event("start", "A2", T3)}),
        record("gw2", "", ms(T2), {}, {"event/discharge": event("end", EVIL, T2)}),  # its start is not stored
    ]
    two = (event("start", "A3", T3 + 1), event("start", "A4", T3 + 1))  # two strings of one scan: one record
    out.append(Record("gw1", "", ms(T3 + 1), (), (), ("event/discharge",) * 2, two))
    out.append(record("gw1", "UPS-A:A1", ms(T1 - 60), {"string.voltage": 40.0, "string.soc": 10.0}))  # before
    for k in range(0, 1801, 60):  # the discharge, scan by scan
        out.append(
            record("gw1", "UPS-A:A1", ms(T1 + k), {"string.voltage": 54.0 - k / 462, "string.soc": 100 - k / 48})
        )
    out.append(record("gw1", "UPS-A:A2", ms(T3 + 30), {"string.voltage": 52.5, "string.soc": None}))
    return out


@pytest.fixture(scope="module")
def stored(tmp_path_factory, postgres):
    storage = tmp_path_factory.mktemp("aggregator-discharge")
    add_user(storage, "olga", "operator")
    asyncio.run(store_records(postgres.dsn, stored_records()))
    return storage, postgres.dsn


def a_site() -> AggregatedSite:
    site = AggregatedSite()
    strings = {"A1": string_metrics(2), "A2": string_metrics(2)}
    apply_views(site, gateway_view("gw1", strings), gateway_view("gw2", {EVIL: string_metrics(2)}))
    return site


def test_starts_and_ends_pair_per_string() -> None:
    m = lambda kind, at, s="A1": Message("gw", "U", s, kind, at)  # noqa: E731
    found = paired([m("end", 50), m("start", 10), m("start", 20), m("start", 5, "A2"), m("end", 3, "A3")])
    shown = [(e.string_id, e.start, e.end) for e in found]
    assert shown == [("A1", 10, 50), ("A2", 5, None), ("A3", None, 3)]  # newest start first


def test_the_discharge_list_pairs_the_stored_events_and_reads_their_depth(stored) -> None:
    storage, dsn = stored

    async def scenario(client):
        assert (await client.get("/gateways/gw1/discharge")).status_code == 303
        await logged_in(client)
        answer = await (await client.get("/api/v1/discharges?gateway=gw1")).get_json()
        shown = [(e["string_id"], e["start"], e["end"]) for e in answer["discharges"]]
        assert shown == [
            ("A4", iso(T3 + 1), None),
            ("A3", iso(T3 + 1), None),
            ("A2", iso(T3), None),
            ("A1", iso(T1), iso(T2)),
        ]
        a1 = answer["discharges"][-1]
        assert a1["duration_s"] == 1805.0
        assert a1["min_string_voltage_v"] == pytest.approx(54.0 - 1800 / 462, abs=1e-3)  # not the 40 V before it
        assert a1["min_soc_pct"] == pytest.approx(100 - 1800 / 48, abs=1e-3)
        a2 = answer["discharges"][2]
        assert a2["min_string_voltage_v"] == 52.5 and a2["min_soc_pct"] is None  # ongoing: up to now; no SOC sent

        html = await (await client.get("/gateways/gw1/discharge")).get_data(as_text=True)
        assert "4 events" in html and html.count("ongoing</span>") == 3
        assert "0:30:05" in html and ">50.10<" in html and ">62<" in html  # duration, depth in registry decimals
        one = await (await client.get("/gateways/gw1/strings/UPS-A/A1/discharge")).get_data(as_text=True)
        assert "1 event" in one and "ongoing</span>" not in one
        assert 'href="/api/v1/discharges.csv?gateway=gw1&amp;ups=UPS-A&amp;string=A1"' in one
        site = await (await client.get("/site/discharge")).get_data(as_text=True)
        assert "5 events" in site and "before the records" in site  # gw2's end without its start
        assert (await client.get("/gateways/nobody/discharge")).status_code == 404
        assert (await client.get("/gateways/gw1/strings/UPS-A/Z9/discharge")).status_code == 404
        assert (await client.get("/api/v1/discharges?gateway=nobody")).status_code == 404
        a2_only = await (await client.get("/api/v1/discharges?gateway=gw1&ups=UPS-A&string=A2")).get_json()
        assert [e["string_id"] for e in a2_only["discharges"]] == ["A2"]
        other_ups = await (await client.get("/api/v1/discharges?ups=UPS-B")).get_json()
        assert other_ups["discharges"] == []

        text = await (await client.get("/api/v1/discharges.csv")).get_data(as_text=True)
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == [
            "gateway",
            "ups",
            "string",
            "start",
            "end",
            "duration [s]",
            "lowest string voltage [V]",
            "lowest soc [%]",
        ]
        assert len(rows) == 6
        evil = next(r for r in rows if r[0] == "gw2")
        assert evil[2] == "'" + EVIL and evil[3] == ""  # never a formula; no start stored

    run(a_site(), storage, scenario, dsn)
