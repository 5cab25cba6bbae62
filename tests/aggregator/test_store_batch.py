"""The Store's batches on a real PostgreSQL (aggregator/store_batch.py, aggregator/store.py):
acknowledged only once all of a batch is stored, a duplicate within a batch stored once, a
record PostgreSQL refuses passed over without holding the others back."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from aggregator.messages import OfflineAlarm, SkippedMessage, StoreRecords
from aggregator.records import Record
from aggregator.store import RecordStore
from aggregator.store_batch import write_batch

T0_MS = 1_767_225_600_000
SUBSCRIBER, OTHER = "subscriber", "other subscriber"  # stand-ins for actor addresses: compared only


def record(node: str, i: int, text: str = "FLOAT") -> Record:
    return Record(node, "UPS-A:A1", T0_MS + i * 1_000, ("string.voltage",), (500.0 + i,), ("string.state",), (text,))


def stored(postgres, node: str) -> list[str]:
    return postgres.psql(
        f"SELECT (extract(epoch FROM ts) * 1000)::bigint - {T0_MS}, nums[1] FROM record "
        f"WHERE edge_node = '{node}' ORDER BY ts"
    ).split()


def run_batch(postgres, batch) -> tuple[list, list]:
    """Write one batch on a new connection: (the acknowledgements made, the items refused)."""
    acknowledged: list = []
    refused: list = []

    async def scenario():
        store = await RecordStore.open(postgres.dsn)
        try:
            await write_batch(
                store, batch, lambda to, mids: acknowledged.append((to, mids)), lambda item, why: refused.append(item)
            )
        finally:
            await store.close()

    asyncio.run(scenario())
    return acknowledged, refused


def test_a_duplicate_within_a_batch_is_stored_once(postgres) -> None:
    a, b = record("gwd", 1), record("gwd", 2)

    async def scenario() -> int:
        store = await RecordStore.open(postgres.dsn)
        try:
            return await store.store([a, b, a])
        finally:
            await store.close()

    assert asyncio.run(scenario()) == 2  # new rows: the second `a` is not counted
    assert stored(postgres, "gwd") == ["1000|501", "2000|502"]
    acknowledged, _ = run_batch(postgres, [StoreRecords((b, record("gwd", 3), b), (), (7, 8, 9), SUBSCRIBER)])
    assert acknowledged == [(SUBSCRIBER, (7, 8, 9))]
    assert stored(postgres, "gwd") == ["1000|501", "2000|502", "3000|503"]


def test_a_batch_is_acknowledged_once_stored_in_batch_order_per_subscriber(postgres) -> None:
    batch = [
        StoreRecords((record("gwo", 1),), (), (1, 2), SUBSCRIBER),
        OfflineAlarm("gwo", 1_000.0, "NDEATH"),
        StoreRecords((record("gwo", 2),), (), (5,), OTHER),
        StoreRecords((record("gwo", 3),), (), (3,), SUBSCRIBER),
    ]
    acknowledged, refused = run_batch(postgres, batch)
    assert acknowledged == [(SUBSCRIBER, (1, 2, 3)), (OTHER, (5,))]
    assert refused == []
    assert stored(postgres, "gwo") == ["1000|501", "2000|502", "3000|503"]
    assert postgres.psql("SELECT count(*) FROM offline_alarm WHERE edge_node = 'gwo'").strip() == "1"


def test_a_failed_store_acknowledges_nothing(postgres) -> None:
    acknowledged: list = []

    async def scenario():
        store = await RecordStore.open(postgres.dsn)
        await store.close()  # PostgreSQL gone under the Store: the write fails
        batch = [StoreRecords((record("gwf", 1),), (), (4,), SUBSCRIBER)]
        await write_batch(store, batch, lambda to, mids: acknowledged.append((to, mids)), lambda item, why: None)

    with pytest.raises(asyncpg.InterfaceError):
        asyncio.run(scenario())
    assert acknowledged == []
    assert stored(postgres, "gwf") == []


def test_a_record_postgresql_refuses_is_passed_over_and_the_rest_of_its_batch_stored(postgres) -> None:
    bad = record("gwr", 2, text="bad\x00text")  # PostgreSQL's text cannot hold a NUL
    batch = [StoreRecords((record("gwr", 1), bad, record("gwr", 3)), (), (1, 2, 3), SUBSCRIBER)]
    acknowledged, refused = run_batch(postgres, batch)
    assert refused == [bad]
    assert stored(postgres, "gwr") == ["1000|501", "3000|503"]
    assert acknowledged == [(SUBSCRIBER, (1, 2, 3))]


def test_a_skipped_message_is_kept_as_it_came_and_acknowledged_in_batch_order(postgres) -> None:
    payload = b"\x00\xffnot a record"
    skipped = SkippedMessage(
        "gws", "spBv1.0/btms/DDATA/gws/UPS-A:A1", payload, 17, "its proxy died", 1_000.0, (2,), SUBSCRIBER
    )
    batch = [StoreRecords((record("gws", 1),), (), (1,), SUBSCRIBER), skipped, StoreRecords((), (), (3,), SUBSCRIBER)]
    acknowledged, refused = run_batch(postgres, batch)
    assert acknowledged == [(SUBSCRIBER, (1, 2, 3))] and refused == []
    assert (
        postgres.psql(
            "SELECT topic, seq, encode(payload, 'hex'), reason, skipped_at = to_timestamp(1000) "
            "FROM skipped_message WHERE edge_node = 'gws'"
        ).strip()
        == f"spBv1.0/btms/DDATA/gws/UPS-A:A1|17|{payload.hex()}|its proxy died|t"
    )
