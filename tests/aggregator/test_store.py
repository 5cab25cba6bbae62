"""The record store on a real PostgreSQL: a replayed record is stored once, months get their
partition, the off-line alarm opens once and closes."""

from __future__ import annotations

import asyncio

from aggregator.records import Record
from aggregator.store import RecordStore

T0_MS = 1_767_225_590_000  # 2025-12-31 23:59:50 UTC: a batch that crosses into a new month


def record(device: str, ts_ms: int, voltage: float | None, node: str = "gw1") -> Record:
    return Record(
        node, device, ts_ms, ("string.voltage", "cell.voltage/1"), (voltage, 12.5), ("string.state",), ("FLOAT",)
    )


def run(coro):
    return asyncio.run(coro)


def test_a_replayed_record_is_stored_once_across_a_month_boundary(postgres) -> None:
    async def scenario():
        store = await RecordStore.open(postgres.dsn)
        try:
            first = [record("UPS-A:A1", T0_MS + i * 5_000, 500.0 + i) for i in range(4)]  # 2 in Dec, 2 in Jan
            assert await store.store(first) == 4
            replay = [*first[1:], record("UPS-A:A1", T0_MS + 20_000, None)]
            assert await store.store(replay) == 1  # three were stored already
        finally:
            await store.close()
        # a second connection (a restarted aggregator) reuses the layout and partitions
        again = await RecordStore.open(postgres.dsn)
        try:
            assert await again.store(first) == 0
        finally:
            await again.close()

    run(scenario())
    rows = postgres.psql(
        "SELECT extract(epoch FROM ts)::bigint, nums[1] FROM record WHERE edge_node = 'gw1' ORDER BY ts"
    ).split()
    assert rows == ["1767225590|500", "1767225595|501", "1767225600|502", "1767225605|503", "1767225610|"]
    partitions = postgres.psql(
        "SELECT relname FROM pg_class WHERE relname LIKE 'record_2%' AND relkind = 'r' ORDER BY 1"
    ).split()
    assert partitions == ["record_2025_12", "record_2026_01"]
    assert postgres.psql("SELECT count(*) FROM metric_layout").strip() == "1"


def test_the_offline_alarm_opens_once_and_clears(postgres) -> None:
    async def scenario():
        store = await RecordStore.open(postgres.dsn)
        try:
            assert await store.raise_offline("gw9", 1000.0, "NDEATH") is True
            assert await store.raise_offline("gw9", 1001.0, "silent") is False
            assert [r["edge_node"] for r in await store.offline_alarms(active_only=True)] == ["gw9"]
            assert await store.clear_offline("gw9", 1010.0) is True
            assert await store.clear_offline("gw9", 1011.0) is False
            assert await store.offline_alarms(active_only=True) == []
        finally:
            await store.close()

    run(scenario())


def test_a_strings_values_and_its_changed_cells_of_the_same_scan_are_two_records(postgres) -> None:
    """The gateway sends cells by exception in a record of their own with the scan's time."""
    values = Record("gw2", "UPS-A:A1", T0_MS, ("string.voltage",), (500.0,), ("string.state",), ("FLOAT",))
    cells = Record("gw2", "UPS-A:A1", T0_MS, ("cell.voltage/3", "cell.voltage/9"), (12.6, 12.4), (), ())

    async def scenario():
        store = await RecordStore.open(postgres.dsn)
        try:
            assert await store.store([values, cells]) == 2
            assert await store.store([cells, values]) == 0  # replayed: each stored once
        finally:
            await store.close()

    run(scenario())
    assert postgres.psql("SELECT count(*) FROM record WHERE edge_node = 'gw2'").strip() == "2"


def test_a_string_of_240_batteries_is_one_record_whose_layout_is_stored_once(postgres) -> None:
    """Its 1,440 names are far over what a b-tree index entry may hold (2,704 bytes)."""
    names = tuple(
        f"cell.{q}/{n}" for q in ("voltage", "resistance", "temperature", "soc", "soh") for n in range(1, 241)
    )
    big = [
        Record("gw3", "UPS-A:A1", T0_MS + i, names, (12.5,) * len(names), ("cell.health/1",), ("OK",)) for i in (0, 1)
    ]

    async def scenario():
        store = await RecordStore.open(postgres.dsn)
        try:
            assert await asyncio.wait_for(store.store(big), 30) == 2
        finally:
            await store.close()

    run(scenario())
    assert postgres.psql("SELECT count(*) FROM record WHERE edge_node = 'gw3'").strip() == "2"
    assert postgres.psql("SELECT count(*) FROM metric_layout WHERE cardinality(numeric_names) = 1200").strip() == "1"
